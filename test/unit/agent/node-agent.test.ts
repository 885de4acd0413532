import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { CgroupMounts } from '../../../agent/cgroups/mounts.js';
import { AgentMetrics } from '../../../agent/metrics.js';
import { fieldManager, NodeAgent } from '../../../agent/node-agent.js';
import { ProbeHost } from '../../../agent/probe-host.js';
import { ProbeError, type CgroupRef } from '../../../agent/probes/index.js';
import { runnerSnapshotJson } from '../../../agent/session-runner.js';
import { paths } from '../../../common/kube/paths.js';
import { nodeDiagnosticStatusSchema, type NodeDiagnosticStatus } from '../../../crds/index.js';
import { nodeDiagnostic, pod, podRef } from '../../fixtures/api-objects.js';
import { apiError, FakeApi } from '../../support/fake-api.js';
import { FakeClock, settle } from '../../support/fake-clock.js';
import { FakeProbeLoader, probeRead } from '../../support/fake-probes.js';
import { quietLog } from '../../support/quiet-log.js';

const victimUid = '6b1f2f6e-0c55-4a8e-9d0a-3f1c2b7d9e01';
const cartUid = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const etlUid = '0f6a7d1e-3b2c-4d5e-8f90-a1b2c3d4e5f6';
const victim = pod('shop', 'checkout-1', { uid: victimUid, containers: { app: 'a'.repeat(64) } });
const cart = pod('shop', 'cart-1', { uid: cartUid, containers: { app: 'c'.repeat(64) } });
const etl = pod('batch', 'etl', { uid: etlUid, containers: { burn: 'e'.repeat(64) } });
const elsewhere = pod('shop', 'checkout-2', { node: 'node-b' });

const checkoutSession = { namespace: 'shop', name: 'checkout' };
const cartSession = { namespace: 'shop', name: 'cart' };
const statusPath = (session: { name: string }) => paths.nodeDiagnostics('shop', `${session.name}-node-a`, 'status');

describe('NodeAgent', function () {
  let dir: string;
  let api: FakeApi;
  let clock: FakeClock;
  let loader: FakeProbeLoader;
  let metrics: AgentMetrics;
  let agents: NodeAgent[];

  /** The kubelet's cgroups of a pod and its container, in the scratch unified tree. */
  function podCgroups(p: typeof victim): { pod: bigint; container: bigint; podPath: string } {
    const podPath = `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${p.metadata.uid.replaceAll('-', '_')}.slice`;
    const id = p.status.containerStatuses![0]!.containerID.split('://')[1]!;
    const containerPath = `${podPath}/cri-containerd-${id}.scope`;
    mkdirSync(join(dir, 'unified', containerPath), { recursive: true });
    const ino = (path: string) => statSync(join(dir, 'unified', path), { bigint: true }).ino;
    return { pod: ino(podPath), container: ino(containerPath), podPath };
  }

  /** @param controllers enabled on the scratch unified tree (none: a hybrid host's). */
  function startAgent(controllers: string[] = []): NodeAgent {
    const mounts: CgroupMounts = {
      mountPoints: new Map([['unified', join(dir, 'unified')]]),
      unifiedControllers: controllers,
    };
    const agent = new NodeAgent({
      nodeName: 'node-a',
      instance: 'agent-a',
      client: api.client,
      watch: api.watch,
      log: quietLog,
      clock,
      metrics,
      stateDir: join(dir, 'state'),
      probeHost: new ProbeHost(quietLog, loader.open),
      mounts,
      hierarchies: new Map([[0, 'unified']]),
      nameDisk: (d) => `disk${d.major}:${d.minor}`,
    });
    agents.push(agent);
    agent.start();
    return agent;
  }

  function putDiagnostic(session: typeof checkoutSession, targets: (typeof victim)[], generation = 1) {
    return api.put(
      paths.nodeDiagnostics(),
      nodeDiagnostic(session, 'node-a', targets.map(podRef), { interval: '2s', generation }),
    );
  }

  /** An agent measuring the checkout session, with the victim and batch/etl in their cgroups. */
  async function measuring() {
    const cgroups = { victim: podCgroups(victim), etl: podCgroups(etl) };
    putDiagnostic(checkoutSession, [victim]);
    startAgent();
    await settle();
    return { ...cgroups, probes: loader.active! };
  }

  const statusWrites = (session = checkoutSession) =>
    api.client.requests.filter((r) => r.method === 'PATCH' && r.path === statusPath(session));
  const lastStatus = (session = checkoutSession): NodeDiagnosticStatus =>
    nodeDiagnosticStatusSchema.parse((statusWrites(session).at(-1)!.body as { status: unknown }).status);
  const ids = (refs: readonly CgroupRef[]) => refs.map((r) => r.id).sort();
  const stateFile = () => join(dir, 'state', `uid-checkout-node-a.json`);

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'crosstalk-agent-test-'));
    api = new FakeApi();
    clock = new FakeClock();
    loader = new FakeProbeLoader();
    metrics = new AgentMetrics();
    agents = [];
    for (const p of [victim, cart, etl, elsewhere]) api.put(paths.pods(), p);
  });

  afterEach(async function () {
    for (const agent of agents) await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stays idle until a NodeDiagnostic names its node, then attaches the probes to its victims', async function () {
    const victimIds = podCgroups(victim);
    podCgroups(etl);
    api.put(paths.nodeDiagnostics(), nodeDiagnostic(checkoutSession, 'node-b', [podRef(elsewhere)]));
    startAgent();
    await clock.elapse(5000, 100);
    expect(loader.opened, 'no probe for another node').to.have.length(0);
    expect(api.client.writes()).to.deep.equal([]);

    putDiagnostic(checkoutSession, [victim]);
    await settle();
    expect(loader.opened).to.have.length(1);
    const probes = loader.active!;
    expect(probes.options.probes).to.deep.equal(['cache', 'cpu', 'io', 'memory']);
    expect(ids(probes.targets), "the victim's pod and container cgroups only").to.deep.equal(
      [victimIds.pod, victimIds.container].sort(),
    );
    expect((await metrics.probesAttached.get()).values[0]!.value).to.equal(1);
  });

  it('writes the final window at the deadline itself, marked final, then detaches the probes', async function () {
    podCgroups(victim);
    // Windows of 2 s from 12:00:00; the deadline falls inside the third, between ticks.
    api.put(
      paths.nodeDiagnostics(),
      nodeDiagnostic(checkoutSession, 'node-a', [podRef(victim)], {
        interval: '2s',
        deadline: '2026-11-25T12:00:05.300Z',
      }),
    );
    startAgent();
    await settle();
    await clock.elapse(5299, 100);
    expect(lastStatus().window?.final, 'before the deadline').to.be.undefined;
    expect(loader.active).to.not.be.undefined;
    await clock.elapse(5, 1); // the tick is aimed a few milliseconds past the deadline
    const final = lastStatus();
    expect(final.window).to.deep.include({ end: '2026-11-25T12:00:05.300Z', sequence: 3, final: true });
    expect(final.phase).to.equal('Stopped');
    expect(loader.active, 'probes detached after the final window').to.be.undefined;
    const writes = statusWrites().length;
    await clock.elapse(10_000, 500);
    expect(statusWrites(), 'nothing written after the final window').to.have.length(writes);
  });

  it('keeps the probes while any session needs the node and detaches them with the last', async function () {
    const victimIds = podCgroups(victim);
    const cartIds = podCgroups(cart);
    putDiagnostic(checkoutSession, [victim]);
    const cartDiagnostic = putDiagnostic(cartSession, [cart]);
    startAgent();
    await settle();
    expect(loader.opened, 'one set of probes for both sessions').to.have.length(1);
    const probes = loader.active!;
    expect(ids(probes.targets)).to.deep.equal(
      [victimIds.pod, victimIds.container, cartIds.pod, cartIds.container].sort(),
    );

    api.remove(paths.nodeDiagnostics(), cartDiagnostic);
    await settle();
    expect(probes.closed).to.be.false;
    expect(ids(probes.targets), "the ended session's victims are no longer targets").to.deep.equal(
      [victimIds.pod, victimIds.container].sort(),
    );

    await clock.elapse(3000, 100); // a status write, so that restart state exists
    expect(existsSync(stateFile())).to.be.true;
    api.remove(paths.nodeDiagnostics(), api.get(paths.nodeDiagnostics(), 'shop', 'checkout-node-a')!);
    await settle();
    expect(probes.closed).to.be.true;
    expect(loader.active).to.be.undefined;
    expect(existsSync(stateFile()), 'restart state of the ended session removed').to.be.false;
    expect((await metrics.probesAttached.get()).values[0]!.value).to.equal(0);
  });

  /** A second in which the victim waits 500 ms behind batch/etl and runs 200 ms. */
  const heldByEtl = (victimIds: { container: bigint }, etlIds: { container: bigint }) =>
    probeRead({
      cpu: {
        hierarchyId: 0,
        usage: [
          { cgroupId: victimIds.container, oncpuNs: 200e6, slices: 40, involuntary: 30, dead: false },
          { cgroupId: etlIds.container, oncpuNs: 1e9, slices: 10, involuntary: 0, dead: false },
        ],
        victims: [
          {
            cgroupId: victimIds.container,
            waitNs: 500e6,
            waits: 40,
            unattributedNs: 0,
            histogram: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40], // 4-8 ms each
            dead: false,
          },
        ],
        attribution: [
          {
            victim: victimIds.container,
            aggressor: { kind: 'cgroup', id: etlIds.container },
            waitNs: 500e6,
            dead: false,
          },
        ],
      },
    });

  it('writes the status through /status by server-side apply, with what the probes measured', async function () {
    const { victim: victimIds, etl: etlIds, probes } = await measuring();
    const window = heldByEtl(victimIds, etlIds);
    probes.windows.push(window, window);
    await clock.elapse(2000, 100);

    const write = statusWrites().at(-1)!;
    expect(write).to.deep.include({
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager, force: 'true' },
    });
    expect(write.body).to.deep.include({
      apiVersion: 'crosstalk.dev/v1alpha1',
      kind: 'NodeDiagnostic',
      metadata: { name: 'checkout-node-a', namespace: 'shop' },
    });
    const status = lastStatus();
    expect(status).to.deep.include({ observedGeneration: 1, phase: 'Measuring', agent: { instance: 'agent-a' } });
    expect(status.window).to.include({ sequence: 1, windowsReported: 1 });
    const report = status.pods![0]!;
    expect(report).to.deep.include({ name: 'checkout-1', uid: victimUid, containers: ['app'] });
    expect(report.metrics?.cpu?.runqWaitSeconds).to.be.closeTo(1, 1e-9);
    expect(report.aggressors?.[0]?.pod).to.deep.equal({ namespace: 'batch', name: 'etl', uid: etlUid });
  });

  it('saves restart state after a status write and not before', async function () {
    api.failNext('PATCH', statusPath(checkoutSession), apiError(500, 'InternalError'));
    await measuring();
    expect(existsSync(stateFile())).to.be.false;
    await clock.elapse(1000, 100);
    expect(statusWrites(), 'the first write, refused').to.have.length(1);
    expect(existsSync(stateFile()), 'nothing saved for a write that failed').to.be.false;
    await clock.elapse(1000, 100);
    expect(statusWrites()).to.have.length(2);
    const saved = runnerSnapshotJson.parse(JSON.parse(readFileSync(stateFile(), 'utf8')));
    expect(saved.nodeDiagnosticUid).to.equal('uid-checkout-node-a');
    expect(saved.measure.windowsReported, 'the window just written').to.equal(1);
  });

  it('retries a failed status write at the next tick', async function () {
    await measuring();
    await clock.elapse(1000, 100);
    expect(statusWrites()).to.have.length(1);
    api.failNext('PATCH', statusPath(checkoutSession), apiError(500, 'InternalError'));
    await clock.elapse(1000, 100);
    expect(statusWrites(), 'the closed window, refused').to.have.length(2);
    await clock.elapse(1000, 100);
    expect(statusWrites(), 'a tick at which no window closes').to.have.length(3);
    expect(lastStatus().window).to.include({ sequence: 1 });
    expect((await metrics.statusWrites.get()).values.map((v) => [v.labels.result, v.value])).to.have.deep.members([
      ['ok', 2],
      ['error', 1],
    ]);
  });

  it('backs status writes off while the API fails, doubling to 30 s, and keeps every window', async function () {
    await measuring();
    await clock.elapse(1000, 100);
    for (let i = 0; i < 20; i++)
      api.failNext('PATCH', statusPath(checkoutSession), apiError(503, 'ServiceUnavailable'));
    const attempts: number[] = [];
    for (let t = 0; t < 90_000; t += 100) {
      const before = statusWrites().length;
      await clock.elapse(100, 100);
      if (statusWrites().length > before) attempts.push(t + 100);
    }
    const gaps = attempts.slice(1).map((t, i) => Math.round((t - attempts[i]!) / 1000));
    expect(gaps.slice(0, 6), 'seconds between attempts').to.deep.equal([1, 2, 4, 8, 16, 30]);
    expect((await metrics.statusWriteBackoff.get()).values[0]!.value).to.equal(30);
    // The API answers again: the next write carries every window closed meanwhile.
    api.client.failures.splice(0);
    await clock.elapse(31_000, 100);
    expect(lastStatus().window).to.deep.include({ sequence: 61, windowsReported: 61 });
    expect((await metrics.statusWriteBackoff.get()).values[0]!.value).to.equal(0);
  });

  it('writes when a window closes or the spec changes, not on the echo of its own write', async function () {
    const cartIds = podCgroups(cart);
    await measuring();
    await clock.elapse(10_000, 100);
    // The first tick writes the new session; then one write per 2 s window.
    expect(statusWrites()).to.have.length(6);

    putDiagnostic(checkoutSession, [victim, cart], 2);
    await settle();
    expect(ids(loader.active!.targets)).to.include.members([cartIds.pod, cartIds.container]);
    await clock.elapse(1000, 100);
    expect(statusWrites()).to.have.length(7);
    expect(lastStatus().observedGeneration).to.equal(2);
  });

  it("targets a victim's new container at once and reports its slow waits with who held the CPU", async function () {
    const { victim: victimIds, etl: etlIds, probes } = await measuring();
    const sidecarPath = `${victimIds.podPath}/cri-containerd-${'f'.repeat(64)}.scope`;
    const sidecar = { hierarchyId: 0, id: 424242n };
    const time = new Date(clock.now());
    probes.events.push(
      {
        type: 'cgroup',
        kind: 'mkdir',
        time,
        monotonicNs: 1n,
        cgroup: sidecar,
        level: 5,
        path: sidecarPath,
        pathTruncated: false,
      },
      {
        type: 'slow-runq',
        time,
        monotonicNs: 2n,
        comm: 'checkout',
        pid: 4242,
        cpu: 1,
        waitNs: 12e6,
        cgroup: { hierarchyId: 0, id: victimIds.container },
        prev: { comm: 'stress-ng', pid: 77, cgroup: { hierarchyId: 0, id: etlIds.container } },
        holders: [{ holder: { kind: 'cgroup', id: etlIds.container }, ns: 12e6 }],
        otherNs: 0,
        unattributedNs: 0,
      },
      {
        type: 'slow-runq',
        time,
        monotonicNs: 3n,
        comm: 'checkout',
        pid: 4242,
        cpu: 1,
        waitNs: 8e6,
        cgroup: { hierarchyId: 0, id: victimIds.container },
        prev: { comm: 'kworker/u4:2', pid: 90, cgroup: { hierarchyId: 0, id: 1n } },
        holders: [{ holder: { kind: 'writeback', id: etlIds.container }, ns: 8e6 }],
        otherNs: 0,
        unattributedNs: 0,
      },
    );
    await clock.elapse(100);
    expect(ids(probes.targets), 'before the next tick').to.include(424242n);
    await clock.elapse(1900, 100); // the status lists events once a window closed
    expect(lastStatus().events).to.deep.equal([
      {
        time: time.toISOString(),
        probe: 'cpu',
        namespace: 'shop',
        pod: 'checkout-1',
        latencyMs: 12,
        detail: 'checkout (4242) waited for CPU 1',
        aggressor: 'batch/etl',
      },
      {
        time: time.toISOString(),
        probe: 'cpu',
        namespace: 'shop',
        pod: 'checkout-1',
        latencyMs: 8,
        detail: "checkout (4242) waited for CPU 1, held by kernel threads writing back the aggressor's pages",
        aggressor: 'batch/etl',
      },
    ]);
  });

  it('continues a session from its restart state when the agent comes back', async function () {
    podCgroups(victim);
    putDiagnostic(checkoutSession, [victim]);
    const first = startAgent();
    await clock.elapse(4000, 100);
    expect(lastStatus().window).to.include({ sequence: 2, windowsReported: 2 });
    await first.stop();

    startAgent();
    await clock.elapse(2000, 100);
    expect(lastStatus().window).to.include({ sequence: 3, windowsReported: 3 });
  });

  it('reports probes the kernel refused in the status, and does not retry them every tick', async function () {
    podCgroups(victim);
    loader.refuse = new ProbeError('loading eBPF needs root', 'EPERM', 1, 'load', 'cpu');
    putDiagnostic(checkoutSession, [victim]);
    startAgent();
    await clock.elapse(1000, 100);
    expect(lastStatus()).to.deep.include({ phase: 'Failed', message: 'loading eBPF needs root' });
    expect(lastStatus().probes?.find((p) => p.name === 'cpu')?.state).to.equal('Unsupported');
    loader.refuse = undefined;
    await clock.elapse(5000, 100);
    expect(loader.opened).to.have.length(0);
  });

  it('releases a restrained suspect at its deadline when the probe reads fail from then on', async function () {
    const victimIds = podCgroups(victim);
    const etlIds = podCgroups(etl);
    const cpuMax = join(dir, 'unified', etlIds.podPath, 'cpu.max');
    writeFileSync(cpuMax, 'max 100000\n');
    const nd = nodeDiagnostic(checkoutSession, 'node-a', [podRef(victim)], { interval: '2s' });
    const confirm = { ...nd.spec.confirm, enabled: true, maxSeconds: 2 };
    api.put(paths.nodeDiagnostics(), { ...nd, spec: { ...nd.spec, confirm } });
    startAgent(['cpu']);
    await settle();
    const probes = loader.active!;
    for (let i = 0; i < 10; i++) probes.windows.push(heldByEtl(victimIds, etlIds));
    // The first window closes at 2 s and names etl; the victim is watched 2 s, then etl is capped.
    let restrainedAt = 0;
    while (readFileSync(cpuMax, 'utf8') === 'max 100000\n' && restrainedAt < 10_000) {
      await clock.elapse(1, 1);
      restrainedAt++;
    }
    expect(readFileSync(cpuMax, 'utf8'), `after ${restrainedAt} ms`).to.equal('10000 100000');
    probes.read = () => Promise.reject(new Error('the probe maps are gone'));
    await clock.elapse(1999, 100);
    expect(readFileSync(cpuMax, 'utf8'), 'before its deadline').to.equal('10000 100000');
    await clock.elapse(1);
    expect(readFileSync(cpuMax, 'utf8'), 'at its deadline, with no read').to.equal('max 100000');
  });
});
