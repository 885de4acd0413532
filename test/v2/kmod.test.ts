// The kernel-module backend in the VM lane's guest (Debian 6.1, pure cgroup v2): insmod of
// kmod/crosstalk.ko (the lane builds it for the guest's ABI), the eBPF probes' cpu,
// lifecycle, io and memory-limit ground truth on the module, slow-wait records, one
// session at a time, no wait carried from one session into the next, malformed ioctls
// refused with an errno, the module's and eBPF's cost on one load (printed), the agent
// measuring a session with spec.backend kmod, and rmmod with a kernel log free of
// warnings (the guest panics on any).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { readCgroupMounts } from '../../agent/cgroups/mounts.js';
import { AgentMetrics } from '../../agent/metrics.js';
import { NodeAgent } from '../../agent/node-agent.js';
import {
  ProbeError,
  type ProbeName,
  type ProbeOptions,
  type ProbeSession,
  type SlowRunqEvent,
} from '../../agent/probes/index.js';
import { systemClock } from '../../common/clock.js';
import { paths } from '../../common/kube/paths.js';
import { nodeDiagnosticStatusSchema } from '../../crds/index.js';
import type { TestCgroup } from '../../testbed/host/cgroups.js';
import { missingPureCgroupV2, requireOrSkip } from '../../testbed/host/requirements.js';
import {
  burnerAloneOnItsCpu,
  shortLivedCgroups,
  twoBurnersOnOneCpu,
  unified,
} from '../integration/probes/ground-truth.js';
import { directIoCounted, readerBesideWriter } from '../integration/probes/io-ground-truth.js';
import { missingTool, type ProbeFixture, sleep, useProbeFixture } from '../integration/probes/workloads.js';
import { nodeDiagnostic, pod, podRef, type PodObject } from '../fixtures/api-objects.js';
import { reclaimAtOwnLimit } from './reclaim-at-limit.js';
import { FakeApi } from '../support/fake-api.js';
import { quietLog } from '../support/quiet-log.js';

const ko = fileURLToPath(new URL('../../kmod/crosstalk.ko', import.meta.url));
const device = '/dev/crosstalk';
const statsParameter = '/sys/module/crosstalk/parameters/stats';
const logMark = `crosstalk-kmod-test ${process.pid}`;
/** ABI version 2 (kmod/crosstalk-kmod.h): sizeof struct ctk_info, ctk_enable (32 in
 * version 1), ctk_targets and ctk_read. */
const abi = { version: 2, infoSize: 64, enableSize: 40, enableSizeV1: 32, targetsSize: 24, readSize: 48 };
const victimUid = '6b1f2f6e-0c55-4a8e-9d0a-3f1c2b7d9e01';
const burnerUid = '0f6a7d1e-3b2c-4d5e-8f90-a1b2c3d4e5f6';

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
    expect(logSinceMark().join('\n')).to.match(
      /crosstalk: \/dev\/crosstalk ready \(ABI 2, probes 0xf, memcg reclaim\)/,
    );
  });

  it('opens cpu, io, memory and lifecycle on the module and reports cache as unsupported', function () {
    const f = fixture();
    const session = f.open(kmod({ probes: ['cpu', 'io', 'memory', 'cache'] }));
    const status = new Map(session.status().map((s) => [s.probe, s]));
    expect(status.get('cpu')).to.include({ state: 'loaded', attachMode: 'kmod', hierarchyId: 0 });
    expect(status.get('io')).to.include({ state: 'loaded', attachMode: 'kmod', hierarchyId: 0 });
    expect(status.get('memory')).to.include({ state: 'loaded', attachMode: 'kmod', hierarchyId: 0 });
    expect(status.get('lifecycle')).to.include({ state: 'loaded', attachMode: 'kmod' });
    expect(status.get('cache')?.state).to.equal('unsupported');
    expect(status.get('cache')?.reason).to.match(/kernel module backend has no cache probe/);
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

  for (const limit of ['max', 'high'] as const) {
    it(`sees a cgroup past its memory.${limit} stall in memcg reclaim; an unlimited twin never`, async function () {
      await reclaimAtOwnLimit(fixture(), limit, 'kmod');
    });
  }

  it('counts O_DIRECT writes of a known size with exactly their bytes under the writer’s cgroup', async function () {
    const f = fixture();
    const written = await directIoCounted(f, f.open(kmod({ probes: ['io'], ioSlowNs: 0 })), { stacks: false });
    console.log(`      ${written.bytes} bytes in ${written.ops} write requests`);
  });

  it('splits a reader’s time in flight among the owners whose requests were in flight beside it', async function () {
    const f = fixture();
    // Under the lane's emulation the writer spends longer between its requests than on a
    // host: 38-45% of the reader's time in flight was beside it here (the eBPF probe's
    // test on a host: 67-84%).
    await readerBesideWriter(f, f.open(kmod({ probes: ['io'] })));
  });

  // Three burners on one CPU, two of them the victim's: whenever a session ends, one of
  // the victim's tasks is queued with its enqueue stamp. The next session must not
  // charge it the time in between (the release clears the stamps).
  it('starts every session afresh: a wait begun before it is not charged to it', async function () {
    const f = fixture();
    const victim = f.cgroup('victim');
    const other = f.cgroup('other');
    f.burner(victim, 1);
    f.burner(victim, 1);
    f.burner(other, 1);
    const first = f.open(kmod({ probes: ['cpu'] }));
    first.setTargets([unified(victim)]);
    first.attach();
    await sleep(500);
    first.close();
    await sleep(3000);
    const second = f.open(kmod({ probes: ['cpu'] }));
    second.setTargets([unified(victim)]);
    second.attach();
    await sleep(500);
    const { cpu } = await second.read();
    const waits = cpu?.victims.find((v) => v.cgroupId === victim.id('unified'));
    expect(waits?.waits, 'victim waits').to.be.above(0);
    // Slot k counts waits in [2^(k-1), 2^k) µs: nothing from 1.05 s up (the gap is 3 s).
    expect(
      waits?.histogram.slice(21).reduce((a, b) => a + b, 0),
      'waits of 1.05 s or more',
    ).to.equal(0);
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
n = ${abi.infoSize}
v = ${abi.version}
print('good', code(cmd(1, n), info(n, n, v)))
print('size', code(cmd(1, n + 8), info(n + 8, n + 8, v)))
print('head', code(cmd(1, n), info(n, n - 8, v)))
print('version', code(cmd(1, n), info(n, n, 99)))
print('unknown', code(cmd(42, n), info(n, n, v)))
print('magic', code((3 << 30) | (n << 16) | (0x12 << 8) | 1, info(n, n, v)))
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

  // The io probe's ioctls, from Python as above: enabling it with version 1's
  // struct ctk_enable or version, reading its tables with a wrong size, version, table,
  // too small a buffer or a bad pointer; then a good read of what a 1 MiB O_DIRECT write
  // left, every cgroup a victim, and a close that unregisters the io probe.
  it('refuses malformed io ioctls with an errno (old enable, wrong read size, version, table, buffer)', function () {
    requireOrSkip(this, missingTool('python3'));
    const f = fixture();
    const file = join(f.tempDir('crosstalk-kmod-io-'), 'direct');
    const script = `
import ctypes, errno, fcntl, mmap, os, struct
W, RW = 1, 3
def cmd(d, nr, size): return (d << 30) | (size << 16) | (0xC7 << 8) | nr
fd = os.open('${device}', os.O_RDWR)
def code(c, buf):
    try:
        fcntl.ioctl(fd, c, buf)
        return 'ok'
    except OSError as e:
        return errno.errorcode[e.errno]
v = ${abi.version}
def enable(size, version):
    return bytearray(struct.pack('IIIIQQQ', size, version, 8, 0, 0, 0, 0)[:size])
E, E1, T, R = ${abi.enableSize}, ${abi.enableSizeV1}, ${abi.targetsSize}, ${abi.readSize}
print('enable-v1', code(cmd(W, 2, E1), enable(E1, 1)))
print('enable-version', code(cmd(W, 2, E), enable(E, 1)))
print('enable', code(cmd(W, 2, E), enable(E, v)))
print('targets', code(cmd(W, 3, T), bytearray(struct.pack('IIIIQ', T, v, 0, 1, 0))))
page = mmap.mmap(-1, 1 << 20)
out = os.open('${file}', os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
os.write(out, page)
os.close(out)
def read(table, buf, length, size=R, version=v):
    return bytearray(struct.pack('IIIIQQQQ', size, version, table, 0, buf, length, 0, 0))
print('read-size', code(cmd(RW, 4, R - 8), read(5, 0, 0)[:R - 8]))
print('read-head', code(cmd(RW, 4, R), read(5, 0, 0, size=R - 8)))
print('read-version', code(cmd(RW, 4, R), read(5, 0, 0, version=1)))
print('read-table', code(cmd(RW, 4, R), read(99, 0, 0)))
short = read(5, 0, 0)
print('read-short', code(cmd(RW, 4, R), short), 'needed' if struct.unpack_from('Q', short, 32)[0] > 0 else 'none')
print('read-fault', code(cmd(RW, 4, R), read(6, 16, 1 << 20)))
space = bytearray(1 << 20)
address = ctypes.addressof((ctypes.c_char * len(space)).from_buffer(space))
good = read(5, address, len(space))
result = code(cmd(RW, 4, R), good)
count = struct.unpack_from('I', good, 12)[0]
written = sum(struct.unpack_from('Q', space, i * 40 + 32)[0] for i in range(count)
              if (struct.unpack_from('Q', space, i * 40)[0] >> 8) & 0xff == 1)
print('read', result, 'written' if written >= 1 << 20 else 'missing %d' % written)
os.close(fd)
print('closed ok')
`;
    const r = run('python3', ['-c', script]);
    expect(r.status, r.out).to.equal(0);
    const results = new Map(r.out.split('\n').map((l) => [l.split(' ')[0]!, l.split(' ').slice(1).join(' ')]));
    expect(Object.fromEntries(results)).to.deep.equal({
      'enable-v1': 'EINVAL',
      'enable-version': 'EPROTO',
      enable: 'ok',
      targets: 'ok',
      'read-size': 'EINVAL',
      'read-head': 'EINVAL',
      'read-version': 'EPROTO',
      'read-table': 'EINVAL',
      'read-short': 'ENOSPC needed',
      'read-fault': 'EFAULT',
      read: 'ok written',
      closed: 'ok',
    });
  });

  // Benchmarks (print, assert only that they measured): the same load alone, under the
  // eBPF probe and under the module's, its cgroup a victim; ns per event from each
  // backend's own run-time statistics (kernel.bpf_stats_enabled, the module's stats=1).
  it('measures ns per event and the load’s slowdown, module vs eBPF: context switches', async function () {
    requireOrSkip(this, missingTool('stress-ng'));
    const f = fixture();
    const ns = await compareBackends(f, 'cpu', 'switches/s', switchLoad);
    expect(Object.keys(ns.get('ebpf') ?? {}), 'eBPF programs ran').to.not.have.length(0);
    expect(ns.get('kmod')?.kmod_sched_switch, 'module sched_switch probe ran').to.be.above(0);
  });

  it('measures ns per event and the load’s slowdown, module vs eBPF: 4 KiB O_DIRECT writes', async function () {
    const f = fixture();
    const file = join(f.tempDir('crosstalk-kmod-bench-'), 'direct');
    const ns = await compareBackends(f, 'io', 'writes/s', (load) => directWrites(load, file));
    expect(Object.keys(ns.get('ebpf') ?? {}), 'eBPF programs ran').to.not.have.length(0);
    expect(ns.get('kmod')?.kmod_block_rq, 'module block_rq probes ran').to.be.above(0);
  });

  // The agent as it runs on a node, with only the API server in memory: spec.backend kmod,
  // pods in the kubelet's cgroup layout, a victim and a burner sharing one CPU.
  it('runs a session with spec.backend kmod end to end: the agent measures through the module', async function () {
    const f = fixture();
    const victim = pod('shop', 'checkout-1', { uid: victimUid, containers: { app: 'a'.repeat(64) } });
    const burner = pod('batch', 'etl', { uid: burnerUid, containers: { burn: 'e'.repeat(64) } });
    const victimCgroup = kubeletCgroups(f, victim);
    const burnerCgroup = kubeletCgroups(f, burner);
    const api = new FakeApi();
    for (const p of [victim, burner]) api.put(paths.pods(), p);
    const nd = nodeDiagnostic({ namespace: 'shop', name: 'checkout' }, 'node-a', [podRef(victim)], {
      interval: '2s',
    });
    api.put(paths.nodeDiagnostics(), { ...nd, spec: { ...nd.spec, backend: 'kmod' } });
    const agent = new NodeAgent({
      nodeName: 'node-a',
      instance: 'agent-a',
      client: api.client,
      watch: api.watch,
      log: quietLog,
      clock: systemClock,
      metrics: new AgentMetrics(),
      stateDir: f.tempDir('crosstalk-agent-state-'),
      mounts: readCgroupMounts(),
      hierarchies: new Map([[0, 'unified']]),
    });
    agent.start();
    try {
      f.burner(victimCgroup, 1);
      f.burner(burnerCgroup, 1);
      const statusPath = paths.nodeDiagnostics('shop', nd.metadata.name, 'status');
      const lastStatus = () => {
        const write = api.client.requests.filter((r) => r.method === 'PATCH' && r.path === statusPath).at(-1);
        return write && nodeDiagnosticStatusSchema.parse((write.body as { status: unknown }).status);
      };
      for (let i = 0; i < 150 && (lastStatus()?.window?.windowsReported ?? 0) < 2; i++) await sleep(100);
      const status = lastStatus();
      const report = status?.pods?.[0];
      console.log(`      status: backend ${status?.backend}, ${JSON.stringify(report?.metrics?.cpu)}`);
      expect(status?.backend).to.equal('kmod');
      const probes = new Map(status?.probes?.map((p) => [p.name, p]));
      expect(probes.get('cpu')?.state).to.equal('Active');
      expect(probes.get('io')?.state).to.equal('Active');
      expect(report?.metrics?.cpu?.waitPercent, 'victim wait, % of wall').to.be.within(30, 70);
      expect(report?.aggressors?.[0]?.pod, 'top aggressor').to.deep.include({ namespace: 'batch', name: 'etl' });
    } finally {
      await agent.stop();
    }
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

/** A pod's cgroup and its one container's, in the kubelet's systemd layout under the
 * fixture's run directory; returns the container's. */
function kubeletCgroups(f: ProbeFixture, p: PodObject): TestCgroup {
  const slice = `kubepods-besteffort-pod${p.metadata.uid.replaceAll('-', '_')}.slice`;
  const id = p.status.containerStatuses![0]!.containerID.split('://')[1]!;
  let path = '';
  let cg: TestCgroup | undefined;
  for (const part of ['kubepods.slice', 'kubepods-besteffort.slice', slice, `cri-containerd-${id}.scope`]) {
    path = path ? `${path}/${part}` : part;
    cg = f.cgroup(path);
  }
  return cg!;
}

/** The load's pace alone, under the probe on eBPF and on the module (five alternating
 * rounds, medians printed), and ns per event of each backend's hooks (first round). */
async function compareBackends(
  f: ProbeFixture,
  probe: ProbeName,
  unit: string,
  work: (load: TestCgroup) => Promise<number>,
): Promise<Map<string, Record<string, number>>> {
  const load = f.cgroup('load');
  const configs = ['none', 'ebpf', 'kmod'] as const;
  const ops = new Map<string, number[]>(configs.map((c) => [c, []]));
  const ns = new Map<string, Record<string, number>>();
  // Rounds alternate the configurations, so that drift on a shared machine hits each.
  for (let round = 0; round < 5; round++) {
    for (const config of configs) {
      const session = config === 'none' ? undefined : f.open({ probes: [probe], backend: config });
      session?.setTargets([unified(load)]);
      session?.attach();
      ops.get(config)!.push(await work(load)); // statistics off: the load's own pace
      if (session && round === 0) ns.set(config, await nsPerEvent(session, () => work(load)));
      session?.close();
    }
  }
  const median = (c: string) => [...ops.get(c)!].sort((x, y) => x - y)[2]!;
  for (const config of configs) {
    const runs = ops
      .get(config)!
      .map((v) => v.toFixed(0))
      .join(' ');
    const cost = Object.entries(ns.get(config) ?? {})
      .map(([name, v]) => `${name} ${v.toFixed(0)}`)
      .join(', ');
    console.log(
      `      ${config}: median ${median(config).toFixed(0)} ${unit} (runs ${runs}), slowdown ` +
        `${(median('none') / median(config)).toFixed(2)}x${cost ? `; ns per event: ${cost}` : ''}`,
    );
  }
  return ns;
}

/** 2000 4 KiB O_DIRECT writes by dd in the cgroup; returns writes per second. */
async function directWrites(cgroup: TestCgroup, file: string): Promise<number> {
  const started = process.hrtime.bigint();
  const code = await cgroup.run('dd', [
    'if=/dev/zero',
    `of=${file}`,
    'bs=4k',
    'count=2000',
    'oflag=direct',
    'conv=notrunc',
  ]);
  if (code !== 0) throw new Error(`dd exited with ${code}`);
  return 2000 / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** stress-ng's context-switch load (two processes ping-ponging) in the cgroup for 2 s;
 * returns its switches per second. */
async function switchLoad(cgroup: TestCgroup): Promise<number> {
  const child = cgroup.spawn('stress-ng', ['--switch', '2', '-t', '2', '--metrics-brief'], {
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

/** ns per run of each program of the session over one load, from the backends' own
 * run-time statistics (both switched on meanwhile, then restored). */
async function nsPerEvent(session: ProbeSession, work: () => Promise<unknown>): Promise<Record<string, number>> {
  const files = ['/proc/sys/kernel/bpf_stats_enabled', statsParameter];
  const saved = files.map((file) => readFileSync(file, 'utf8').trim());
  try {
    writeFileSync(files[0]!, '1');
    writeFileSync(files[1]!, 'Y');
    const before = session.programStats();
    await work();
    const ns: Record<string, number> = {};
    for (const p of session.programStats()) {
      const p0 = before.find((q) => q.name === p.name);
      const runs = Number(p.runCount - (p0?.runCount ?? 0n));
      if (runs > 0) ns[p.name] = Number(p.runTimeNs - (p0?.runTimeNs ?? 0n)) / runs;
    }
    return ns;
  } finally {
    files.forEach((file, i) => writeFileSync(file, saved[i]!));
  }
}
