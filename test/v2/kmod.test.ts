// The kernel-module backend in the VM lane's guest (Debian 6.1, pure cgroup v2): insmod of
// kmod/crosstalk.ko (the lane builds it for the guest's ABI), the eBPF probes' cpu,
// lifecycle and memory-limit ground truth on the module, slow-wait records, one session
// at a time, a malformed ioctl refused with an errno, the module's and eBPF's cost on one
// load (printed), the agent measuring a session with spec.backend kmod, and rmmod with a
// kernel log free of warnings (the guest panics on any).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { readCgroupMounts } from '../../agent/cgroups/mounts.js';
import { AgentMetrics } from '../../agent/metrics.js';
import { NodeAgent } from '../../agent/node-agent.js';
import { ProbeError, type ProbeOptions, type ProbeSession, type SlowRunqEvent } from '../../agent/probes/index.js';
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
import { missingTool, type ProbeFixture, sleep, useProbeFixture } from '../integration/probes/workloads.js';
import { nodeDiagnostic, pod, podRef, type PodObject } from '../fixtures/api-objects.js';
import { reclaimAtOwnLimit } from './reclaim-at-limit.js';
import { FakeApi } from '../support/fake-api.js';
import { quietLog } from '../support/quiet-log.js';

const ko = fileURLToPath(new URL('../../kmod/crosstalk.ko', import.meta.url));
const device = '/dev/crosstalk';
const statsParameter = '/sys/module/crosstalk/parameters/stats';
const logMark = `crosstalk-kmod-test ${process.pid}`;
/** sizeof(struct ctk_info) in ABI version 1 (kmod/crosstalk-kmod.h). */
const infoSize = 48;
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
      /crosstalk: \/dev\/crosstalk ready \(ABI 1, probes 0x7, memcg reclaim\)/,
    );
  });

  it('opens cpu, memory and lifecycle on the module and reports the probes it has not as unsupported', function () {
    const f = fixture();
    const session = f.open(kmod({ probes: ['cpu', 'io', 'memory', 'cache'] }));
    const status = new Map(session.status().map((s) => [s.probe, s]));
    expect(status.get('cpu')).to.include({ state: 'loaded', attachMode: 'kmod', hierarchyId: 0 });
    expect(status.get('memory')).to.include({ state: 'loaded', attachMode: 'kmod', hierarchyId: 0 });
    expect(status.get('lifecycle')).to.include({ state: 'loaded', attachMode: 'kmod' });
    expect(status.get('cache')?.state).to.equal('unsupported');
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

  for (const limit of ['max', 'high'] as const) {
    it(`sees a cgroup past its memory.${limit} stall in memcg reclaim; an unlimited twin never`, async function () {
      await reclaimAtOwnLimit(fixture(), limit, 'kmod');
    });
  }

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
n = ${infoSize}
print('good', code(cmd(1, n), info(n, n, 1)))
print('size', code(cmd(1, n + 8), info(n + 8, n + 8, 1)))
print('head', code(cmd(1, n), info(n, n - 8, 1)))
print('version', code(cmd(1, n), info(n, n, 99)))
print('unknown', code(cmd(42, n), info(n, n, 1)))
print('magic', code((3 << 30) | (n << 16) | (0x12 << 8) | 1, info(n, n, 1)))
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
    const configs = ['none', 'ebpf', 'kmod'] as const;
    const ops = new Map<string, number[]>(configs.map((c) => [c, []]));
    const ns = new Map<string, Record<string, number>>();
    // Rounds alternate the configurations, so that drift on a shared machine hits each.
    for (let round = 0; round < 5; round++) {
      for (const config of configs) {
        const session = config === 'none' ? undefined : f.open({ probes: ['cpu'], backend: config });
        session?.setTargets([unified(load)]);
        session?.attach();
        ops.get(config)!.push(await switchLoad(load)); // statistics off: the load's own pace
        if (session && round === 0) ns.set(config, await nsPerEvent(session, load));
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
        `      ${config}: median ${median(config).toFixed(0)} switches/s (runs ${runs}), slowdown ` +
          `${(median('none') / median(config)).toFixed(2)}x${cost ? `; ns per event: ${cost}` : ''}`,
      );
    }
    expect(Object.keys(ns.get('ebpf') ?? {}), 'eBPF programs ran').to.not.have.length(0);
    expect(ns.get('kmod')?.kmod_sched_switch, 'module sched_switch probe ran').to.be.above(0);
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
      expect(probes.get('io')).to.include({ state: 'Unsupported' });
      expect(probes.get('io')?.reason).to.match(/kernel module backend has no io probe/);
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
async function nsPerEvent(session: ProbeSession, cgroup: TestCgroup): Promise<Record<string, number>> {
  const files = ['/proc/sys/kernel/bpf_stats_enabled', statsParameter];
  const saved = files.map((file) => readFileSync(file, 'utf8').trim());
  try {
    writeFileSync(files[0]!, '1');
    writeFileSync(files[1]!, 'Y');
    const before = session.programStats();
    await switchLoad(cgroup);
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
