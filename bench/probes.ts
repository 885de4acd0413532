// Probe cost benchmark (prints, asserts nothing). Runs a context-switch heavy load
// (`stress-ng --switch 2`) in a fresh cgroup, and reports, from the kernel's own BPF
// run-time statistics (kernel.bpf_stats_enabled=1, bpf_prog_info run_time_ns and
// run_cnt), the ns per event of every crosstalk program:
//   - with the load's cgroup as a victim (every path: stamps, histogram, attribution),
//   - with no victim (the aggressor-only path every other cgroup takes),
//   - with the raw_tp fallback programs (victim),
//   - with the cache probe on software counters (no hardware PMU here),
//   - as crosstalk top and runq-snoop run them (every cgroup a victim),
// and the same load under bpftrace running runqlat.bt's logic, for comparison; plus the
// load's own throughput in each case (against the load alone right before it, with
// bpf_stats off as on a node and on as while counted), and each program's size (instructions after the
// verifier's rewrites, JIT bytes). bpf_stats_enabled is restored afterwards.
// Run as root: npm run bench:probes [-- seconds] [--json file] (the figures, for npm run bench)
// [--quick] (only the victim, no-victim and bpftrace configurations)
import Table from 'cli-table3';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';

import { ProbeSession, type ProbeOptions } from '../agent/probes/index.js';
import { TestCgroup } from '../testbed/host/cgroups.js';

const args = parseArgs({ options: { json: { type: 'string' }, quick: { type: 'boolean' } }, allowPositionals: true });
const seconds = Number(args.positionals[0] ?? 5);
const statsSysctl = '/proc/sys/kernel/bpf_stats_enabled';

interface ProgramCost {
  readonly name: string;
  readonly runs: number;
  readonly nsPerRun: number;
  /** Instructions as run (after the verifier's rewrites) and JIT-compiled bytes. */
  readonly insns?: number;
  readonly jitedBytes?: number;
}

interface LoadResult {
  /** stress-ng bogo ops per second (real time): context switches. */
  readonly opsPerSecond: number;
  readonly nsPerSwitch: number;
}

interface Run {
  readonly label: string;
  /** The load alone right before this configuration was loaded (paired: noise drifts). */
  readonly alone: LoadResult;
  /** The load with the kernel's run-time accounting off (what a node pays). */
  readonly load: LoadResult;
  /** The same with it on, while the programs' costs are counted. */
  readonly loadCounted: LoadResult;
  readonly programs: readonly ProgramCost[];
}

/** The load with nothing loaded, bpf_stats off. */
function loadAlone(cgroup: TestCgroup): Promise<LoadResult> {
  writeFileSync(statsSysctl, '0');
  return runLoad(cgroup);
}

/** Runs the load twice: with bpf_stats off (its own speed, as on a node) and on (the
 * programs' run time counted; the accounting's two clock reads per run slow it more). */
async function measuredLoad(cgroup: TestCgroup, counted: () => Promise<LoadResult>) {
  writeFileSync(statsSysctl, '0');
  const load = await runLoad(cgroup);
  writeFileSync(statsSysctl, '1');
  return { load, loadCounted: await counted() };
}

/** Runs the load in the cgroup for the configured time and parses stress-ng's metrics. */
async function runLoad(cgroup: TestCgroup): Promise<LoadResult> {
  const child = cgroup.spawn('stress-ng', ['--switch', '2', '-t', String(seconds), '--metrics-brief'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`stress-ng exited with ${code}:\n${out}`);
  const ops = /switch\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+([\d.]+)/.exec(out);
  const ns = /([\d.]+) nanosecs per context switch/.exec(out);
  if (!ops?.[1] || !ns?.[1]) throw new Error(`cannot parse stress-ng's metrics:\n${out}`);
  return { opsPerSecond: Number(ops[1]), nsPerSwitch: Number(ns[1]) };
}

function costs(before: Map<string, [bigint, bigint]>, after: Map<string, [bigint, bigint]>): ProgramCost[] {
  const out: ProgramCost[] = [];
  for (const [name, [time, count]] of after) {
    const [time0, count0] = before.get(name) ?? [0n, 0n];
    const runs = Number(count - count0);
    out.push({ name, runs, nsPerRun: runs > 0 ? Number(time - time0) / runs : 0 });
  }
  return out;
}

async function crosstalkRun(label: string, cgroup: TestCgroup, options: ProbeOptions, victim: boolean): Promise<Run> {
  const alone = await loadAlone(cgroup);
  const existing = new Set(loadedPrograms().map((p) => p.id));
  const session = ProbeSession.open(options);
  try {
    if (victim) {
      const io = session.status().find((s) => s.probe === 'io')?.hierarchyId ?? 0;
      session.setTargets([
        { hierarchyId: 0, id: cgroup.id('unified') },
        { hierarchyId: io, id: cgroup.id(io === 0 ? 'unified' : 'blkio') },
      ]);
    }
    session.attach();
    const sizes = new Map(
      loadedPrograms()
        .filter((p) => !existing.has(p.id))
        .map((p) => [p.name ?? '', { insns: (p.bytes_xlated ?? 0) / 8, jitedBytes: p.bytes_jited ?? 0 }]),
    );
    const snapshot = () =>
      new Map(session.programStats().map((p): [string, [bigint, bigint]] => [p.name, [p.runTimeNs, p.runCount]]));
    let before = snapshot();
    const loads = await measuredLoad(cgroup, () => {
      before = snapshot();
      return runLoad(cgroup);
    });
    const programs = costs(before, snapshot())
      .filter((p) => p.runs > 0)
      // bpftool shows the full name when the program has BTF, else the kernel's 15 characters.
      .map((p) => ({ ...p, ...(sizes.get(p.name) ?? sizes.get(p.name.slice(0, 15))) }));
    return { label, alone, ...loads, programs };
  } finally {
    session.close();
  }
}

const bpftoolProgs = z.array(
  z.object({
    id: z.number(),
    name: z.string().optional(),
    run_time_ns: z.number().optional(),
    run_cnt: z.number().optional(),
    bytes_xlated: z.number().optional(),
    bytes_jited: z.number().optional(),
  }),
);

function loadedPrograms() {
  return bpftoolProgs.parse(JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' })));
}

// runqlat.bt (bpftrace's tools/runqlat.bt), restated: classic tracepoints, pid-keyed map.
const runqlat = `
tracepoint:sched:sched_wakeup, tracepoint:sched:sched_wakeup_new { @qtime[args->pid] = nsecs; }
tracepoint:sched:sched_switch {
  if (args->prev_state == 0) { @qtime[args->prev_pid] = nsecs; }
  $ns = @qtime[args->next_pid];
  if ($ns) { @usecs = hist((nsecs - $ns) / 1000); }
  delete(@qtime[args->next_pid]);
}
END { clear(@qtime); clear(@usecs); }`;

async function bpftraceRun(cgroup: TestCgroup): Promise<Run> {
  const alone = await loadAlone(cgroup);
  const existing = new Set(loadedPrograms().map((p) => p.id));
  const bpftrace = spawn('bpftrace', ['-e', runqlat], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    bpftrace.stdout.on('data', (c: Buffer) => (out += c.toString()));
    bpftrace.stderr.on('data', (c: Buffer) => (out += c.toString()));
    for (let i = 0; !out.includes('Attaching'); i++) {
      if (i > 500 || bpftrace.exitCode !== null) throw new Error(`bpftrace did not start:\n${out}`);
      await sleep(20);
    }
    await sleep(500);
    const ours = () => loadedPrograms().filter((p) => !existing.has(p.id));
    const key = (p: { id: number; name?: string | undefined }) => `${p.name ?? 'prog'}#${p.id}`;
    const sizes = new Map(
      ours().map((p) => [key(p), { insns: (p.bytes_xlated ?? 0) / 8, jitedBytes: p.bytes_jited ?? 0 }]),
    );
    const snapshot = () =>
      new Map(
        ours().map((p): [string, [bigint, bigint]] => [key(p), [BigInt(p.run_time_ns ?? 0), BigInt(p.run_cnt ?? 0)]]),
      );
    let before = snapshot();
    const loads = await measuredLoad(cgroup, () => {
      before = snapshot();
      return runLoad(cgroup);
    });
    const programs = costs(before, snapshot())
      .filter((p) => p.runs > 0)
      .map((p) => ({ ...p, ...sizes.get(p.name) }));
    return { label: 'bpftrace runqlat.bt', alone, ...loads, programs };
  } finally {
    const exited = once(bpftrace, 'exit');
    bpftrace.kill('SIGINT');
    await exited;
  }
}

function print(baseline: LoadResult, runs: readonly Run[]): void {
  const table = new Table({
    head: ['configuration', 'program', 'runs', 'ns/run', 'insns', 'JIT bytes'],
    style: { head: [], border: [] },
  });
  for (const run of runs)
    for (const p of run.programs)
      table.push([run.label, p.name, p.runs, p.nsPerRun.toFixed(0), p.insns ?? '', p.jitedBytes ?? '']);
  console.log(table.toString());
  const load = new Table({
    head: ['configuration', 'switches/s', 'ns per switch', 'slowdown', 'slowdown, bpf_stats on'],
    style: { head: [], border: [] },
  });
  load.push(['no probes (mean)', baseline.opsPerSecond.toFixed(0), baseline.nsPerSwitch.toFixed(0), '1.00x', '']);
  for (const run of runs) {
    const ratio = (l: LoadResult) => `${(l.nsPerSwitch / run.alone.nsPerSwitch).toFixed(2)}x`;
    load.push([
      run.label,
      run.load.opsPerSecond.toFixed(0),
      run.load.nsPerSwitch.toFixed(0),
      ratio(run.load),
      ratio(run.loadCounted),
    ]);
  }
  console.log(load.toString());
  const switchCost = (run: Run | undefined, match: RegExp) => run?.programs.find((p) => match.test(p.name))?.nsPerRun;
  const ours = switchCost(runs[0], /^cpu_switch/);
  const peer = switchCost(
    runs.find((r) => r.label.startsWith('bpftrace')),
    /sched_switch/,
  );
  if (ours && peer)
    console.log(
      `sched_switch: crosstalk cpu probe ${ours.toFixed(0)} ns, bpftrace runqlat.bt ${peer.toFixed(0)} ns (${(peer / ours).toFixed(1)}x)`,
    );
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the probe benchmark needs root (eBPF, cgroups, sysctl)');
  const previous = readFileSync(statsSysctl, 'utf8').trim();
  const restore = () => writeFileSync(statsSysctl, previous);
  const cgroup = TestCgroup.create(`crosstalk-bench-${process.pid}`);
  const onSignal = () => {
    restore();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    console.log(
      `load: stress-ng --switch 2 for ${seconds} s in a fresh cgroup; kernel ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}`,
    );
    const all: ProbeOptions = { probes: ['cpu', 'io', 'memory', 'lifecycle'] };
    const runs = [
      await crosstalkRun('crosstalk, load is a victim', cgroup, all, true),
      await crosstalkRun('crosstalk, no victim', cgroup, all, false),
    ];
    if (!args.values.quick)
      runs.push(
        await crosstalkRun('crosstalk raw_tp, victim', cgroup, { ...all, forceRawTracepoints: true }, true),
        await crosstalkRun('crosstalk cache (software)', cgroup, { probes: ['cache'], softwareCounters: true }, false),
        // The node-local tools: every cgroup a victim (crosstalk top), slow-wait records (runq-snoop).
        await crosstalkRun('crosstalk top (every cgroup)', cgroup, { ...all, allCgroups: true }, false),
        await crosstalkRun(
          'crosstalk runq-snoop -t 10',
          cgroup,
          { probes: ['cpu'], allCgroups: true, runqSlowNs: 10e6 },
          false,
        ),
      );
    runs.push(await bpftraceRun(cgroup));
    // Each configuration's slowdown is against the load alone right before it; their mean
    // is the table's baseline, their spread this run's noise.
    const alone = runs.map((r) => r.alone);
    const mean = (f: (l: LoadResult) => number) => alone.reduce((sum, l) => sum + f(l), 0) / alone.length;
    const baseline = { opsPerSecond: mean((l) => l.opsPerSecond), nsPerSwitch: mean((l) => l.nsPerSwitch) };
    const spread = alone.map((l) => l.nsPerSwitch);
    console.log(`no probes: ${Math.min(...spread).toFixed(0)}-${Math.max(...spread).toFixed(0)} ns per switch`);
    print(baseline, runs);
    if (args.values.json) writeFileSync(args.values.json, JSON.stringify({ seconds, baseline, runs }, null, 2));
  } finally {
    restore();
    await cgroup.remove();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
