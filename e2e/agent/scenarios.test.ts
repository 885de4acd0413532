// crosstalk end to end: a real apiserver, the operator and the node agent as processes, a
// harness node running real workloads in kubelet-layout cgroups, real eBPF. Each scenario
// knows its ground truth (who is pinned where, who allocates, who writes) and asserts the
// verdict and the named aggressor in `kubectl get dsess -o json`, once with the aggressor
// running before the session is applied (users apply a session because something is
// already slow) and once with it starting mid-session. A light victim, and victims
// slowed only by their own limits, must get None.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';

import { parseDuration, verdictRank, type VictimReport } from '../../crds/index.js';
import { missingBpf, requireOrSkip } from '../../testbed/host/requirements.js';
import { confineWriteback } from '../../testbed/host/writeback-cpus.js';
import type { ComponentProcess } from '../../testbed/cluster/component-process.js';
import { eventually } from '../../testbed/cluster/eventually.js';
import { kubectl } from '../../testbed/cluster/kubectl.js';
import { useControlPlane } from '../support/mocha.js';
import { applySession, readSession, type SessionJson } from '../support/sessions.js';
import { startAgentOn, startNodeStack, stopNodeStack } from '../support/node-stack.js';
import type { HarnessPodSpec, NodeHarness } from '../../testbed/kubelet/node-harness.js';
import type { OperatorProcess } from '../../testbed/components/operator-process.js';
import { cpuHog, fioJob, memoryHog } from '../../testbed/workloads/commands.js';
import { latencyProbeCommand } from '../../testbed/workloads/latency-probe.js';

interface NodeDiagnosticJson {
  status?: {
    window?: { firstStart: string; end: string; windowsReported: number; sequence: number };
    pods?: VictimReport[];
    events?: { probe: string; pod: string; latencyMs: number; detail: string; aggressor?: string }[];
  };
}

interface EventJson {
  reason?: string;
  note?: string;
  regarding?: { name?: string };
  related?: { name?: string };
}

describe('noisy-neighbour scenarios (e2e)', function () {
  this.timeout(240_000);
  const cp = useControlPlane();

  describe('on one harness node with the operator and the agent running', function () {
    let node: NodeHarness;
    let operator: OperatorProcess;
    let agent: ComponentProcess;
    let stateDir: string;

    before(async function () {
      requireOrSkip(this, missingBpf());
      ({ node, operator, agent, stateDir } = await startNodeStack(cp(), { namespaces: ['shop', 'batch', 'web'] }));
    });

    after(() => stopNodeStack({ node, operator, agent, stateDir }));

    async function runSession(name: string, selector: Record<string, string>, duration: string, interval: string) {
      await applySession(cp(), name, { selector: { matchLabels: selector }, duration, interval });
      return eventually(
        async () => {
          const session = await readSession(cp(), name);
          if (session.status?.phase !== 'Completed') throw new Error(`session ${name} is ${session.status?.phase}`);
          return session;
        },
        120_000,
        500,
      );
    }

    function reportOf(session: SessionJson, pod: string): VictimReport {
      const report = session.status?.reports?.find((r) => r.name === pod);
      if (!report) throw new Error(`no report for ${pod}: ${JSON.stringify(session.status)}`);
      return report;
    }

    /** Detaching the probes and removing pods' cgroups leave kernel work (freeing maps,
     * cgroup teardown) to kworkers, on the victims' CPU too: the next run starts after it. */
    async function settle(): Promise<void> {
      await eventually(
        async () => expect(await agent.metric('crosstalk_agent_probes_attached')).to.equal(0),
        15_000,
        250,
      );
      await sleep(2000);
    }

    /** When the aggressor starts: users apply a session because something is already slow. */
    type Timing = 'before the session' | 'mid-session';
    const timings: readonly Timing[] = ['before the session', 'mid-session'];

    interface Scenario {
      readonly name: string;
      readonly resource: 'cpu' | 'io' | 'memory';
      /** The same harm may show as this resource instead (writeback: kworkers on the victim's CPU). */
      readonly alsoAs?: 'cpu';
      readonly victim: HarnessPodSpec;
      readonly aggressor: HarnessPodSpec;
      /** Ground truth that holds however the verdict comes out (checked per run). */
      readonly check?: (report: VictimReport, session: string) => Promise<void> | void;
      readonly duration: string;
      readonly interval: string;
      /** Before the victim starts (files laid out, a shared memory limit). */
      setUp?(): Promise<void> | void;
      tearDown?(): Promise<void> | void;
      /** How long the victim runs before anything else (fio lays its file out). */
      readonly victimWarmupMs?: number;
    }

    const scratch = mkdtempSync(join(tmpdir(), 'crosstalk-scenarios-'));
    after(() => rmSync(scratch, { recursive: true, force: true }));
    /** A directory of its own for a workload's files. */
    const dirFor = (name: string) => {
      const dir = join(scratch, name);
      mkdirSync(dir, { recursive: true });
      return dir;
    };
    // Each reader of the page cache gets a file of its own: pages cached by an earlier pod
    // stay charged to that pod's cgroup, and a reread of them would charge nobody.
    const cachedFile = join(scratch, 'cached');
    const ownLimitFile = join(scratch, 'own-limit');
    const reread = (file: string) => ['sh', '-c', `while :; do dd if=${file} of=/dev/null bs=1M status=none; done`];
    // 4 KiB synchronous reads of a 64 MiB file: p99 about 220 µs alone.
    const reader = (name: string, options: { cpus?: string; blockSize?: string } = {}): HarnessPodSpec => ({
      name,
      namespace: 'shop',
      labels: { app: name },
      containers: [
        {
          name: 'reader',
          command: fioJob({ dir: dirFor(name), rw: 'randread', size: '64M', blockSize: options.blockSize }),
          ...(options.cpus ? { cpus: options.cpus } : {}),
        },
      ],
    });

    let restoreWriteback: (() => void) | undefined;
    const scenarios: Scenario[] = [
      {
        // The victim and three aggressor workers share CPU 1; the bystander burns CPU 0.
        name: 'CPU',
        resource: 'cpu',
        victim: {
          name: 'checkout',
          namespace: 'shop',
          labels: { app: 'checkout' },
          containers: [{ name: 'app', command: cpuHog(), cpus: '1' }],
        },
        aggressor: {
          name: 'etl',
          namespace: 'batch',
          labels: { app: 'etl' },
          containers: [{ name: 'worker', command: cpuHog({ workers: 3 }), cpus: '1' }],
        },
        duration: '12s',
        interval: '4s',
        async check(report, session) {
          expect(report.aggressors?.[0]?.sharePercent).to.be.at.least(80);
          expect(report.aggressors?.map((a) => a.pod?.name)).not.to.include('frontend');
          // Run-queue waits beyond the threshold (5 ms by default) are listed in the node's
          // status with the pod that held the CPU.
          const nd = JSON.parse(
            (await kubectl(cp(), ['get', 'nodediag', '-n', 'shop', `${session}-node-a`, '-o', 'json'], { check: true }))
              .stdout,
          ) as NodeDiagnosticJson;
          const waits = (nd.status?.events ?? []).filter((e) => e.probe === 'cpu' && e.pod === 'checkout');
          expect(waits.every((e) => e.latencyMs >= 5)).to.be.true;
          expect(waits.map((e) => e.aggressor)).to.include('batch/etl');
        },
      },
      {
        // Beside two writers of 1 MiB direct IOs on the same disk (p99 about 780 µs).
        name: 'IO (direct writes)',
        resource: 'io',
        victim: reader('db'),
        victimWarmupMs: 3000,
        aggressor: {
          name: 'backup',
          namespace: 'batch',
          labels: { app: 'backup' },
          containers: ['a', 'b'].map((n) => ({
            name: `writer-${n}`,
            command: fioJob({ dir: dirFor(`backup-${n}`), rw: 'write', size: '512M', blockSize: '1M' }),
          })),
        },
        duration: '12s',
        interval: '4s',
      },
      {
        // Beside a buffered writer whose pages kworkers write back: the victim on CPU 1, the
        // bystander on CPU 0, the writer and the flushers (confined to CPU 1, as they land on
        // whichever CPU a busy node leaves them) beside the victim. The writer's own time on
        // the victim's CPU, the flushers' and the delay beside its requests on the disk are
        // all the dirtier's doing (cgroup v1 here: by the inode's dirtier). notrunc, or ext4 flushes a truncated file from dd itself at close; sync
        // hands the pages to the flusher kworkers at once instead of after 30 s.
        name: 'IO (writeback)',
        resource: 'io',
        alsoAs: 'cpu',
        victim: reader('ledger', { cpus: '1', blockSize: '128k' }),
        victimWarmupMs: 3000,
        aggressor: {
          name: 'export',
          namespace: 'batch',
          labels: { app: 'export' },
          containers: [
            {
              name: 'writer',
              command: [
                'sh',
                '-c',
                `while :; do dd if=/dev/zero of=${join(dirFor('export'), 'data')} bs=1M count=256 conv=notrunc status=none; sync; done`,
              ],
            },
          ],
        },
        setUp: () => void (restoreWriteback = confineWriteback('2')),
        tearDown: () => restoreWriteback?.(),
        duration: '12s',
        interval: '4s',
        check(report) {
          const top = report.aggressors?.[0];
          if (top?.resource === 'cpu')
            expect(top.evidence, JSON.stringify(report)).to.match(/writing back its dirty pages/);
        },
      },
      {
        // The pods' common cgroup (node allocatable) holds 192 MiB; the victim's 96 MiB of
        // cache fits until a neighbour holds 160 MiB of anonymous memory.
        name: 'memory',
        resource: 'memory',
        victim: {
          name: 'cache',
          namespace: 'shop',
          labels: { app: 'cache' },
          containers: [{ name: 'app', command: reread(cachedFile) }],
        },
        aggressor: {
          name: 'hog',
          namespace: 'batch',
          labels: { app: 'hog' },
          containers: [{ name: 'grow', command: memoryHog({ bytes: 160 * 2 ** 20 }) }],
        },
        setUp: () => node.limitAllocatableMemory(192 * 2 ** 20),
        tearDown: () => node.limitAllocatableMemory(undefined),
        duration: '12s',
        interval: '4s',
        check(report) {
          expect(report.metrics?.memory?.reclaimStallSeconds).to.be.above(0);
          expect(report.selfInflicted ?? []).to.be.empty;
        },
      },
    ];

    before(function () {
      // Written around the page cache, so that the victim's reads are what charge it.
      for (const file of [cachedFile, ownLimitFile])
        expect(spawnSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', 'count=96', 'oflag=direct']).status).to.equal(0);
    });

    for (const s of scenarios) {
      for (const timing of timings) {
        it(`${s.name}: names ${s.aggressor.namespace}/${s.aggressor.name} when it started ${timing}`, async function () {
          const session = `${s.resource}-${s.victim.name}-${timing === 'mid-session' ? 'mid' : 'before'}`;
          const victimName = s.victim.name;
          try {
            await s.setUp?.();
            await node.createPod({
              name: 'frontend',
              namespace: 'web',
              labels: { app: 'frontend' },
              containers: [{ name: 'app', command: cpuHog(), cpus: '0' }],
            });
            await node.createPod(s.victim);
            await sleep(s.victimWarmupMs ?? 0);
            let completed: Promise<SessionJson>;
            if (timing === 'before the session') {
              await node.createPod(s.aggressor);
              await sleep(3000); // it has been slowing the victim for a while
              completed = runSession(session, { app: victimName }, s.duration, s.interval);
            } else {
              completed = runSession(session, { app: victimName }, s.duration, s.interval);
              await sleep(parseDuration(s.interval));
              await node.createPod(s.aggressor);
            }
            const report = reportOf(await completed, victimName);
            const shown = JSON.stringify(report);
            expect(verdictRank(report.verdict), shown).to.be.at.least(verdictRank('Low'));
            const resources: string[] = [s.resource, ...(s.alsoAs ? [s.alsoAs] : [])];
            const top = (report.aggressors ?? []).find((a) => resources.includes(a.resource));
            expect(top?.pod?.name, shown).to.equal(s.aggressor.name);
            expect(resources, shown).to.include(report.aggressors?.[0]?.resource);
            console.log(
              `      ${report.verdict} (${report.score}): ${top?.resource} ${top?.sharePercent}%, ${top?.evidence}`,
            );
            await s.check?.(report, session);
          } finally {
            await node.deletePod(s.aggressor.namespace ?? 'default', s.aggressor.name);
            await node.deletePod('shop', victimName);
            await node.deletePod('web', 'frontend');
            await s.tearDown?.();
            await settle();
          }
        });
      }
    }

    /** Events the operator emitted about a session or its victims. */
    async function interferenceEvents(session: string): Promise<string[]> {
      const out = await kubectl(cp(), ['get', 'events.events.k8s.io', '-A', '-o', 'json'], { check: true });
      const events = (JSON.parse(out.stdout) as { items: EventJson[] }).items;
      return events
        .filter((e) => e.reason === 'InterferenceDetected')
        .filter((e) => e.regarding?.name === session || e.related?.name === session)
        .map((e) => e.note ?? '');
    }

    function condition(session: SessionJson, type: string) {
      return session.status?.conditions?.find((c) => c.type === type);
    }

    it('a light victim on a quiet node: None, nobody named', async function () {
      // Ground truth: 200 small requests a second, nothing else on its CPU.
      try {
        await node.createPod({
          name: 'light',
          namespace: 'shop',
          labels: { app: 'light' },
          containers: [{ name: 'app', command: latencyProbeCommand({ rate: 200, work: 2000 }), cpus: '1' }],
        });
        const session = await runSession('light', { app: 'light' }, '12s', '4s');
        const report = reportOf(session, 'light');
        expect(report.verdict, JSON.stringify(report)).to.equal('None');
        expect(
          (report.aggressors ?? []).filter((a) => a.pod),
          JSON.stringify(report),
        ).to.be.empty;
        expect(condition(session, 'InterferenceDetected')?.status).to.equal('False');
      } finally {
        await node.deletePod('shop', 'light');
      }
    });

    for (const own of [
      {
        what: 'CPU quota',
        cause: 'CPUQuota',
        pod: {
          name: 'capped',
          namespace: 'shop',
          labels: { app: 'capped' },
          containers: [{ name: 'app', command: cpuHog(), cpus: '1', resources: { limits: { cpu: '200m' } } }],
        },
      },
      {
        what: 'memory limit',
        cause: 'MemoryLimit',
        // Re-reading 96 MiB through a 32 MiB limit reclaims its own page cache.
        pod: {
          name: 'cache-small',
          namespace: 'shop',
          labels: { app: 'cache-small' },
          containers: [
            { name: 'app', command: reread(ownLimitFile), cpus: '1', resources: { limits: { memory: '32Mi' } } },
          ],
        },
      },
    ] as const) {
      it(`a victim alone under its own ${own.what}: verdict None, ${own.cause} shown, no InterferenceDetected, no event`, async function () {
        try {
          await node.createPod(own.pod);
          await sleep(1000);
          const name = `own-${own.pod.name}`;
          const session = await runSession(name, { app: own.pod.name }, '12s', '4s');
          const report = reportOf(session, own.pod.name);
          const shown = JSON.stringify(report);
          expect(report.verdict, shown).to.equal('None');
          expect(
            (report.selfInflicted ?? []).map((x) => x.cause),
            shown,
          ).to.include(own.cause);
          expect(report.selfInflicted?.[0]?.seconds, shown).to.be.above(0);
          expect(
            (report.aggressors ?? []).filter((a) => a.pod),
            shown,
          ).to.be.empty;
          const interference = condition(session, 'InterferenceDetected');
          expect(interference?.status, JSON.stringify(interference)).to.equal('False');
          expect(interference?.reason).to.equal('SelfLimited');
          expect(session.status?.summary?.selfLimited).to.equal(1);
          expect(await interferenceEvents(name)).to.deep.equal([]);
        } finally {
          await node.deletePod('shop', own.pod.name);
        }
      });
    }

    it('short-lived: names by pod a stream of containers that each live 150 ms', async function () {
      await node.createPod({
        name: 'checkout-burst',
        namespace: 'shop',
        labels: { app: 'checkout-burst' },
        containers: [{ name: 'app', command: cpuHog(), cpus: '1' }],
      });
      // Ground truth: 150 ms CPU burners on the victim's CPU, a new pod every 200 ms, all
      // of one Job (no Job controller runs here: the test plays its part).
      const job = {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'burst', namespace: 'batch' },
        spec: {
          suspend: true,
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'burn', image: 'none' }] } },
        },
      };
      const created = await kubectl(cp(), ['create', '-f', '-', '-o', 'jsonpath={.metadata.uid}'], {
        input: JSON.stringify(job),
        check: true,
      });
      const owner = { apiVersion: 'batch/v1', kind: 'Job', name: 'burst', uid: created.stdout, controller: true };
      let stop = false;
      const started: string[] = [];
      const stream = (async () => {
        for (let i = 0; !stop; i++) {
          const name = `burst-${i}`;
          const pod = await node.createPod({
            name,
            namespace: 'batch',
            labels: { app: 'burst' },
            ownerReferences: [owner],
            containers: [{ name: 'burn', command: ['timeout', '0.15', 'sh', '-c', 'while :; do :; done'], cpus: '1' }],
          });
          started.push(name);
          void pod.finished.then(() => node.deletePod('batch', name));
          await sleep(200);
        }
      })();
      try {
        const report = reportOf(
          await runSession('short-lived', { app: 'checkout-burst' }, '10s', '5s'),
          'checkout-burst',
        );
        expect(report.verdict, JSON.stringify(report)).not.to.equal('None');
        const top = report.aggressors?.[0];
        expect(started, JSON.stringify(report)).to.include(top?.pod?.name);
        expect(top?.evidence).to.match(/^with \d+ more pods of Job batch\/burst/);
      } finally {
        stop = true;
        await stream;
        await node.deletePod('shop', 'checkout-burst');
        await kubectl(cp(), ['delete', 'job', 'burst', '-n', 'batch', '--cascade=orphan']);
      }
    });

    it('agent: idle without sessions, resumes after a crash without losing or double-counting windows', async function () {
      // The last session's runner ends on its own clock, just after the operator marks it
      // Completed: the probes are detached a moment later.
      await eventually(
        async () => expect(await agent.metric('crosstalk_agent_probes_attached'), 'no session, no probe').to.equal(0),
        15_000,
        250,
      );
      await node.createPod({
        name: 'search',
        namespace: 'shop',
        labels: { app: 'search' },
        containers: [{ name: 'app', command: cpuHog(), cpus: '1' }],
      });
      await node.createPod({
        name: 'indexer',
        namespace: 'batch',
        labels: { app: 'indexer' },
        containers: [{ name: 'worker', command: cpuHog({ workers: 3 }), cpus: '1' }],
      });
      const nodeDiagnostic = async () =>
        JSON.parse(
          (await kubectl(cp(), ['get', 'nodediag', '-n', 'shop', 'restart-node-a', '-o', 'json'], { check: true }))
            .stdout,
        ) as NodeDiagnosticJson;
      try {
        const session = runSession('restart', { app: 'search' }, '24s', '3s');
        const before = await eventually(async () => {
          const nd = await nodeDiagnostic();
          if ((nd.status?.window?.windowsReported ?? 0) < 2) throw new Error('waiting for two windows');
          return nd.status!;
        }, 60_000);
        expect(await agent.metric('crosstalk_agent_probes_attached')).to.equal(1);
        // Medium or High: three burners against one reach High in most windows, but the
        // single-wait size (p99 in log2 buckets) sometimes lands a window in Medium.
        expect(await agent.metric('crosstalk_victim_verdict', 'pod="search"')).to.be.at.least(2);
        await agent.kill(); // SIGKILL: no chance to save anything more
        await sleep(4000); // at least one whole window passes unmeasured
        agent = await startAgentOn(cp(), node, stateDir, 2);
        await session;
        const after = (await nodeDiagnostic()).status!;
        const waitOf = (s: typeof before) => s.pods?.[0]?.metrics?.cpu?.runqWaitSeconds ?? 0;
        // The figures still start where the session started, and go on from there.
        expect(after.window?.firstStart).to.equal(before.window?.firstStart);
        expect(after.window!.windowsReported).to.be.above(before.window!.windowsReported);
        // The unmeasured window is a gap in the numbering, not a window reported twice.
        expect(after.window!.sequence - after.window!.windowsReported).to.be.at.least(1);
        expect(waitOf(after)).to.be.above(waitOf(before));
        // One thread cannot wait longer than the measured time: nothing was counted twice.
        const coveredSeconds = (Date.parse(after.window!.end) - Date.parse(after.window!.firstStart)) / 1000;
        expect(waitOf(after)).to.be.below(coveredSeconds);
        expect(after.pods?.[0]?.aggressors?.[0]?.pod?.name).to.equal('indexer');
        await eventually(async () => {
          if ((await agent.metric('crosstalk_agent_probes_attached')) !== 0) throw new Error('probes still attached');
        }, 10_000);
      } finally {
        await node.deletePod('batch', 'indexer');
        await node.deletePod('shop', 'search');
      }
    });
  });
});
