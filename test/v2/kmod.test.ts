// The kernel-module backend in the VM lane's guest (Debian 6.1, pure cgroup v2): insmod of
// kmod/crosstalk.ko (the lane builds it for the guest's ABI), the eBPF probes' cpu and
// lifecycle ground truth on the module, slow-wait records, one session at a time, a
// malformed ioctl refused with an errno, the module's and eBPF's cost on one load
// (printed), and rmmod with a kernel log free of warnings (the guest panics on any).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { ProbeError, type ProbeOptions, type SlowRunqEvent } from '../../agent/probes/index.js';
import type { TestCgroup } from '../../testbed/host/cgroups.js';
import { missingPureCgroupV2, requireOrSkip } from '../../testbed/host/requirements.js';
import {
  burnerAloneOnItsCpu,
  shortLivedCgroups,
  twoBurnersOnOneCpu,
  unified,
} from '../integration/probes/ground-truth.js';
import { missingTool, sleep, useProbeFixture } from '../integration/probes/workloads.js';

const ko = fileURLToPath(new URL('../../kmod/crosstalk.ko', import.meta.url));
const device = '/dev/crosstalk';
const statsParameter = '/sys/module/crosstalk/parameters/stats';
const logMark = `crosstalk-kmod-test ${process.pid}`;

function run(command: string, args: readonly string[]): { status: number | null; out: string } {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

function missingModule(): string | undefined {
  const v2 = missingPureCgroupV2();
  if (v2) return v2;
  if (!existsSync(ko)) return `needs ${ko} (npm run test:vm builds it for the guest kernel)`;
  const release = run('uname', ['-r']).out;
  const vermagic = run('modinfo', ['-F', 'vermagic', ko]).out;
  if (!vermagic.startsWith(`${release} `)) return `${ko} is built for "${vermagic}", not ${release}`;
  return undefined;
}

/** The kernel log since this suite loaded the module. */
function logSinceMark(): string[] {
  const lines = run('dmesg', []).out.split('\n');
  const start = lines.findIndex((l) => l.includes(logMark));
  return start < 0 ? lines : lines.slice(start + 1);
}

const kmod = (o: Omit<ProbeOptions, 'backend'>): ProbeOptions => ({ ...o, backend: 'kmod' });

describe('kernel-module backend (kmod)', function () {
  const fixture = useProbeFixture(missingModule);

  before(function () {
    requireOrSkip(this, missingModule());
    writeFileSync('/dev/kmsg', `${logMark}\n`);
    const insmod = run('insmod', [ko]);
    expect(insmod.status, `insmod ${ko}: ${insmod.out}`).to.equal(0);
  });

  it('loads: /dev/crosstalk is there and the module says which probes it hooked', function () {
    expect(existsSync(device), device).to.equal(true);
    expect(logSinceMark().join('\n')).to.match(/crosstalk: \/dev\/crosstalk ready \(ABI 1, probes 0x3\)/);
  });

  it('opens cpu and lifecycle on the module and reports the probes it has not as unsupported', function () {
    const f = fixture();
    const session = f.open(kmod({ probes: ['cpu', 'io', 'memory'] }));
    const status = new Map(session.status().map((s) => [s.probe, s]));
    expect(status.get('cpu')).to.include({ state: 'loaded', attachMode: 'kmod', hierarchyId: 0 });
    expect(status.get('lifecycle')).to.include({ state: 'loaded', attachMode: 'kmod' });
    expect(status.get('io')?.state).to.equal('unsupported');
    expect(status.get('io')?.reason).to.match(/kernel module backend has no io probe/);
  });

  it('refuses a second session while one holds the device', function () {
    const f = fixture();
    f.open(kmod({ probes: ['cpu'] }));
    expect(() => f.open(kmod({ probes: ['cpu'] })))
      .to.throw(ProbeError)
      .with.property('message')
      .that.matches(/in use by another session/);
  });

  it('splits two pinned burners half and half and attributes each wait to the other', async function () {
    const f = fixture();
    await twoBurnersOnOneCpu(f, f.open(kmod({ probes: ['cpu'] })));
  });

  it('sees almost no wait for a burner alone on its CPU, and its CPU time in every window', async function () {
    const f = fixture();
    await burnerAloneOnItsCpu(f, f.open(kmod({ probes: ['cpu'] })));
  });

  it('announces 50 cgroups living ~100 ms each and reports CPU time for every one', async function () {
    const f = fixture();
    await shortLivedCgroups(f, f.open(kmod({ probes: ['cpu'] })), 50);
  });

  it('records slow waits with the cgroup that held the CPU', async function () {
    const f = fixture();
    const a = f.cgroup('a');
    const b = f.cgroup('b');
    const session = f.open(kmod({ probes: ['cpu'], runqSlowNs: 1_000_000 }));
    session.setTargets([unified(a)]);
    session.attach();
    f.burner(a, 1);
    f.burner(b, 1);
    await sleep(1500);
    const slow = session.drainEvents().filter((e): e is SlowRunqEvent => e.type === 'slow-runq');
    expect(slow.length, 'slow waits of a').to.be.above(0);
    for (const e of slow) {
      expect(e.cgroup.id).to.equal(a.id('unified'));
      expect(e.waitNs).to.be.at.least(1_000_000);
    }
    const byB = slow.filter(
      (e) => e.holders[0]?.holder.kind === 'cgroup' && e.holders[0].holder.id === b.id('unified'),
    );
    expect(byB.length / slow.length, 'slow waits whose main holder is b').to.be.at.least(0.9);
  });

  // The ABI check is the module's: Python's fcntl.ioctl issues the raw commands.
  it('refuses malformed ioctls with an errno (wrong size, wrong head size, wrong version, unknown command)', function () {
    requireOrSkip(this, missingTool('python3'));
    const script = `
import errno, fcntl, os, struct
def cmd(nr, size): return (3 << 30) | (size << 16) | (0xC7 << 8) | nr
def info(size, head_size, version):
    buf = bytearray(struct.pack('II', head_size, version) + bytes(max(size - 8, 0)))
    return buf
fd = os.open('${device}', os.O_RDWR)
def code(c, buf):
    try:
        fcntl.ioctl(fd, c, buf)
        return 'ok'
    except OSError as e:
        return errno.errorcode[e.errno]
print('good', code(cmd(1, 40), info(40, 40, 1)))
print('size', code(cmd(1, 48), info(48, 48, 1)))
print('head', code(cmd(1, 40), info(40, 32, 1)))
print('version', code(cmd(1, 40), info(40, 40, 99)))
print('unknown', code(cmd(42, 40), info(40, 40, 1)))
print('magic', code((3 << 30) | (40 << 16) | (0x12 << 8) | 1, info(40, 40, 1)))
`;
    const r = run('python3', ['-c', script]);
    expect(r.status, r.out).to.equal(0);
    const results = new Map(r.out.split('\n').map((l) => l.split(' ') as [string, string]));
    expect(Object.fromEntries(results)).to.deep.equal({
      good: 'ok',
      size: 'EINVAL',
      head: 'EINVAL',
      version: 'EPROTO',
      unknown: 'ENOTTY',
      magic: 'ENOTTY',
    });
  });

  // Benchmark (prints, asserts only that it measured): the same context-switch load alone,
  // under the eBPF cpu probe and under the module's, its cgroup a victim; ns per event from
  // each backend's own run-time statistics (kernel.bpf_stats_enabled, the module's stats=1).
  it('measures ns per event and the load’s slowdown, module vs eBPF', async function () {
    requireOrSkip(this, missingTool('stress-ng'));
    const f = fixture();
    const load = f.cgroup('load');
    const rows: string[] = [];
    const baseline = await switchLoad(load);
    rows.push(`no probes: ${baseline.toFixed(0)} switches/s`);
    const figures: Record<string, { ops: number; ns: Record<string, number> }> = {};
    for (const backend of ['ebpf', 'kmod'] as const) {
      const session = f.open({ probes: ['cpu'], backend });
      session.setTargets([unified(load)]);
      session.attach();
      const ops = await switchLoad(load); // statistics off: the load's own slowdown
      await withStats(async () => {
        const before = session.programStats();
        await switchLoad(load);
        const ns: Record<string, number> = {};
        for (const p of session.programStats()) {
          const p0 = before.find((q) => q.name === p.name);
          const runs = Number(p.runCount - (p0?.runCount ?? 0n));
          if (runs > 0) ns[p.name] = Number(p.runTimeNs - (p0?.runTimeNs ?? 0n)) / runs;
        }
        figures[backend] = { ops, ns };
      });
      session.close();
      const { ns } = figures[backend]!;
      rows.push(
        `${backend}: ${ops.toFixed(0)} switches/s (slowdown ${(baseline / ops).toFixed(2)}x); ns per event: ` +
          Object.entries(ns)
            .map(([name, v]) => `${name} ${v.toFixed(0)}`)
            .join(', '),
      );
    }
    for (const row of rows) console.log(`      ${row}`);
    expect(Object.keys(figures.ebpf?.ns ?? {}), 'eBPF programs ran').to.not.have.length(0);
    expect(figures.kmod?.ns.kmod_sched_switch, 'module sched_switch probe ran').to.be.above(0);
  });

  it('unloads with rmmod and leaves no warning in the kernel log', function () {
    const rmmod = run('rmmod', ['crosstalk']);
    expect(rmmod.status, `rmmod: ${rmmod.out}`).to.equal(0);
    expect(existsSync(device), device).to.equal(false);
    const log = logSinceMark();
    expect(log.join('\n')).to.include('crosstalk: unloaded');
    expect(log.filter((l) => /WARNING|BUG|Oops|Call Trace|general protection|RCU stall/.test(l))).to.deep.equal([]);
  });
});

/** stress-ng's context-switch load (two processes ping-ponging) in the cgroup for 3 s;
 * returns its switches per second. */
async function switchLoad(cgroup: TestCgroup): Promise<number> {
  const child = cgroup.spawn('stress-ng', ['--switch', '2', '-t', '3', '--metrics-brief'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const ops = /switch\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+([\d.]+)/.exec(out)?.[1];
  if (code !== 0 || !ops) throw new Error(`stress-ng exited with ${code}:\n${out}`);
  return Number(ops);
}

/** Runs fn with both backends' run-time statistics on, restoring them afterwards. */
async function withStats(fn: () => Promise<void>): Promise<void> {
  const files = ['/proc/sys/kernel/bpf_stats_enabled', statsParameter];
  const saved = files.map((file) => readFileSync(file, 'utf8').trim());
  try {
    writeFileSync(files[0]!, '1');
    writeFileSync(files[1]!, 'Y');
    await fn();
  } finally {
    files.forEach((file, i) => writeFileSync(file, saved[i]!));
  }
}
