// Ground truth for the cpu probe (the workloads are in ground-truth.ts, shared with the
// kernel-module backend's tests): two pinned burners, a lone burner, the victim set, a
// thread of the root cgroup, kworkers writing back a cgroup's dirty pages; then the same
// workload is measured by bpftrace with a runqlat.bt-style script, a peer written
// independently of these probes.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

import type { CpuWindow, Holder } from '../../../agent/probes/index.js';
import { requireOrSkip } from '../../../testbed/host/requirements.js';
import { confineWriteback, missingWritebackCpumask } from '../../../testbed/host/writeback-cpus.js';
import {
  attributed,
  burnerAloneOnItsCpu,
  measure,
  oncpuOf,
  twoBurnersOnOneCpu,
  unified,
  waitOf,
} from './ground-truth.js';
import { missingTool, missingTracefs, type ProbeFixture, sleep, useProbeFixture } from './workloads.js';

describe('cpu probe (ground truth)', function () {
  const fixture = useProbeFixture();

  it('splits two pinned burners half and half and attributes each wait to the other', async function () {
    const f = fixture();
    const session = f.open({ probes: ['cpu'] });
    expect(session.status().find((s) => s.probe === 'cpu')).to.include({ state: 'loaded', attachMode: 'tp_btf' });
    await twoBurnersOnOneCpu(f, session);
  });

  it('gives the same answer with the raw_tp fallback programs', async function () {
    const f = fixture();
    const session = f.open({ probes: ['cpu'], forceRawTracepoints: true });
    expect(session.status().find((s) => s.probe === 'cpu')).to.include({ state: 'loaded', attachMode: 'raw_tp' });
    await twoBurnersOnOneCpu(f, session);
  });

  it('sees almost no wait for a burner alone on its CPU, and its CPU time in every window', async function () {
    const f = fixture();
    await burnerAloneOnItsCpu(f, f.open({ probes: ['cpu'] }));
  });

  it('measures waits of victims only, and follows a change of the victim set', async function () {
    const f = fixture();
    const a = f.cgroup('a');
    const b = f.cgroup('b');
    const session = f.open({ probes: ['cpu'] });
    session.setTargets([unified(a)]);
    session.attach();
    f.burner(a, 1);
    f.burner(b, 1);
    await sleep(300);
    let { cpu } = await measure(session, 1000);
    expect(waitOf(cpu!, a), 'victim a').to.be.above(0);
    expect(waitOf(cpu!, b), 'b before it is a victim').to.equal(0);
    // b is no victim but still visible as the aggressor, with its CPU time.
    expect(attributed(cpu!, a, b)).to.be.above(0);
    expect(oncpuOf(cpu!, b)).to.be.above(0);
    session.setTargets([unified(b)]);
    ({ cpu } = await measure(session, 1000));
    expect(waitOf(cpu!, b), 'victim b').to.be.above(0);
    expect(waitOf(cpu!, a), 'a once it is no victim').to.equal(0);
  });

  it('names a thread of the root cgroup that holds a victim’s CPU by its pid, never as "/"', async function () {
    const f = fixture();
    const victim = f.cgroup('victim');
    const session = f.open({ probes: ['cpu'] });
    session.setTargets([unified(victim)]);
    session.attach();
    f.burner(victim, 1);
    // A process outside any pod: started here, in the root cgroup, under a name of its own
    // (a thread's comm is the name it was executed by).
    const holderPath = join(f.tempDir('crosstalk-holder-'), 'ct-holder');
    symlinkSync('/bin/sh', holderPath);
    const holder = f.track(spawn('taskset', ['-c', '1', holderPath, '-c', 'while :; do :; done']));
    await sleep(300);
    expect(readFileSync(`/proc/${holder.pid}/cgroup`, 'utf8'), 'the holder is in the root cgroup').to.match(/^0::\/$/m);
    expect(readFileSync(`/proc/${holder.pid}/comm`, 'utf8').trim()).to.equal('ct-holder');
    const { cpu } = await measure(session, 1000);
    const wait = waitOf(cpu!, victim);
    const byHolder = waitByHolder(cpu!, victim.id('unified'));
    const shown = JSON.stringify([...byHolder]);
    expect(wait, 'the victim waits behind the holder').to.be.above(200e6);
    expect((byHolder.get(`pid ${holder.pid}`) ?? 0) / wait, `share named by the holder's pid: ${shown}`).to.be.at.least(
      0.9,
    );
    expect(byHolder.get('cgroup 1'), `nothing charged to the root cgroup as a whole: ${shown}`).to.be.undefined;
  });

  // The victim burner on CPU 1, a dirtier on CPU 0 overwriting a file and syncing in a
  // loop, the flusher kworkers writing its pages back confined to CPU 1 (left free to
  // choose, they take CPU 0 while sync sleeps there): the wait they cause is the dirtier's
  // (cgroup v2: the writeback's wb; this hybrid host: the inode's dirtier). Kworkers
  // still named by thread did other work. Before the dirtier starts, no wait is writeback.
  it('charges kworkers writing back a cgroup’s dirty pages to that cgroup, marked as writeback', async function () {
    requireOrSkip(this, missingWritebackCpumask());
    const restore = confineWriteback('2');
    try {
      await writebackOnVictimCpu(fixture());
    } finally {
      restore();
    }
  });

  // The peer: runqlat.bt's logic (stamp at wakeup and at a switch that leaves prev
  // TASK_RUNNING, measure at switch-in) on classic tracepoints, keyed by pid and limited
  // to the workload's pids (two pinned burners and a sleeper waking every 2 ms on the
  // same CPU). bpftrace prints every wait with its switch-in time (bpf_ktime_get_ns,
  // CLOCK_MONOTONIC like the window bounds), so both are compared over exactly our
  // window: the number of waits and the total wait must agree within 3 % (measured:
  // within 1 %; the rest is slack for the few ms between a map read and its timestamp).
  it('agrees with a runqlat.bt-style bpftrace measurement of the same workload', async function () {
    requireOrSkip(this, missingTool('bpftrace') ?? missingTracefs());
    const f = fixture();
    const a = f.cgroup('a');
    const b = f.cgroup('b');
    const sleeper = f.cgroup('sleeper');
    const session = f.open({ probes: ['cpu'] });
    session.setTargets([unified(a), unified(b), unified(sleeper)]);
    session.attach();
    const pids = [
      f.burner(a, 1).pid,
      f.burner(b, 1).pid,
      f.track(sleeper.spawn('taskset', ['-c', '1', 'perl', '-e', 'select(undef, undef, undef, 0.002) while 1'])).pid,
    ];
    const script = `
      BEGIN { ${pids.map((p) => `@target[${p}] = 1;`).join(' ')} printf("ready\\n"); }
      tracepoint:sched:sched_wakeup, tracepoint:sched:sched_wakeup_new /@target[args->pid]/ { @queued[args->pid] = nsecs; }
      tracepoint:sched:sched_switch {
        if (args->prev_state == 0 && @target[args->prev_pid]) { @queued[args->prev_pid] = nsecs; }
        $t = @queued[args->next_pid];
        if ($t) { printf("wait %llu %llu\\n", nsecs, nsecs - $t); }
        delete(@queued[args->next_pid]);
      }
      END { clear(@queued); clear(@target); }`;
    const bpftrace = f.track(spawn('bpftrace', ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    bpftrace.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    while (!out.includes('ready')) await sleep(20);
    await sleep(300);
    const { cpu, startNs, endNs, durationNs } = await measure(session, 3000);
    await sleep(100);
    const exited = once(bpftrace, 'exit');
    bpftrace.kill('SIGINT');
    await exited;
    const peer = { total: 0, count: 0 };
    for (const [, at, wait] of out.matchAll(/^wait (\d+) (\d+)$/gm)) {
      const t = BigInt(at ?? '0');
      if (t <= startNs || t > endNs) continue;
      peer.total += Number(wait);
      peer.count++;
    }
    const ours = cpu!.victims.reduce((t, v) => ({ total: t.total + v.waitNs, count: t.count + v.waits }), {
      total: 0,
      count: 0,
    });
    console.log(
      `      in ${(durationNs / 1e6).toFixed(0)} ms: crosstalk ${ours.count} waits, ${(ours.total / 1e6).toFixed(1)} ms;` +
        ` bpftrace ${peer.count} waits, ${(peer.total / 1e6).toFixed(1)} ms`,
    );
    expect(peer.count, 'bpftrace saw the workload').to.be.above(1000);
    expect(ours.count, 'number of waits').to.be.closeTo(peer.count, 0.03 * peer.count);
    expect(ours.total, 'total wait').to.be.closeTo(peer.total, 0.03 * peer.total);
  });
});

/** The writeback workload above; the flushers run on CPU 1 only. */
async function writebackOnVictimCpu(f: ProbeFixture): Promise<void> {
  const victim = f.cgroup('victim');
  const dirtier = f.cgroup('dirtier');
  const session = f.open({ probes: ['cpu'] });
  session.setTargets([unified(victim)]);
  session.attach();
  f.burner(victim, 1);
  await sleep(300);
  const alone = waitByHolder((await measure(session, 2000)).cpu!, victim.id('unified'));
  const writebackAlone = [...alone].filter(([k]) => k.startsWith('writeback ')).reduce((n, [, ns]) => n + ns, 0);
  expect(writebackAlone, `writeback without the dirtier: ${JSON.stringify([...alone])}`).to.equal(0);

  const out = join(f.tempDir('crosstalk-writeback-'), 'dirty');
  f.track(
    dirtier.spawn('taskset', [
      '-c',
      '0',
      'sh',
      '-c',
      `while :; do dd if=/dev/zero of=${out} bs=1M count=64 conv=notrunc status=none; sync; done`,
    ]),
  );
  await sleep(500);
  const { cpu } = await measure(session, 3000);
  const byHolder = waitByHolder(cpu!, victim.id('unified'));
  const toDirtier = byHolder.get(`writeback ${dirtier.id('unified')}`) ?? 0;
  let kworkers = 0;
  for (const [key, ns] of byHolder)
    if (key.startsWith('pid ') && commOf(Number(key.slice(4))).startsWith('kworker')) kworkers += ns;
  const ms = (ns: number) => `${(ns / 1e6).toFixed(1)} ms`;
  console.log(
    `      victim waited ${ms(waitOf(cpu!, victim))}: ${ms(toDirtier)} behind kworkers writing back for the dirtier, ` +
      `${ms(kworkers)} behind kworkers by name`,
  );
  expect(toDirtier, `wait charged to the dirtier's writeback: ${JSON.stringify([...byHolder])}`).to.be.above(20e6);
  expect(toDirtier / (toDirtier + kworkers), 'share of the kworkers’ wait charged to the dirtier').to.be.at.least(0.8);
}

/** The victim's wait by holder: "cgroup <id>", "pid <pid>", "writeback <id>" or "idle". */
function waitByHolder(cpu: CpuWindow, victim: bigint): Map<string, number> {
  const key = (h: Holder) =>
    h.kind === 'cgroup'
      ? `cgroup ${h.id}`
      : h.kind === 'thread'
        ? `pid ${h.pid}`
        : h.kind === 'writeback'
          ? `writeback ${h.id}`
          : 'idle';
  const byHolder = new Map<string, number>();
  for (const s of cpu.attribution.filter((s) => s.victim === victim))
    byHolder.set(key(s.aggressor), (byHolder.get(key(s.aggressor)) ?? 0) + s.waitNs);
  return byHolder;
}

/** A thread's name; kworkers' name the work they do (kworker/u4:2+flush-254:0). */
function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}
