// Causal confirmation end to end (issue 21): the operator, a real agent and workloads on a
// harness node. With spec.confirm the agent restrains a victim's top suspect for a few
// seconds and watches the victim: a CPU aggressor is Confirmed and gets its quota back;
// a suspect whose place another takes is NotConfirmed; a direct writer is Confirmed with
// a blkio/io throttle; an annotated pod is Skipped; an agent killed mid-experiment
// restores the suspect before anything else when it comes back.
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { VictimReport } from '../../crds/index.js';
import type { ComponentProcess } from '../../testbed/cluster/component-process.js';
import { eventually } from '../../testbed/cluster/eventually.js';
import { kubectl } from '../../testbed/cluster/kubectl.js';
import type { OperatorProcess } from '../../testbed/components/operator-process.js';
import { missingBpf, requireOrSkip } from '../../testbed/host/requirements.js';
import type { HarnessPodSpec, NodeHarness } from '../../testbed/kubelet/node-harness.js';
import type { HarnessPod } from '../../testbed/kubelet/pod-runtime.js';
import { cpuHog, fioJob } from '../../testbed/workloads/commands.js';
import { useControlPlane } from '../support/mocha.js';
import { startAgentOn, startNodeStack, stopNodeStack } from '../support/node-stack.js';

interface SessionJson {
  status?: { phase?: string; reports?: VictimReport[] };
}

interface EventJson {
  reason?: string;
  regarding?: { kind?: string; name?: string };
}

describe('causal confirmation (e2e)', function () {
  this.timeout(240_000);
  const cp = useControlPlane();

  describe('on one harness node with the operator and the agent running', function () {
    let node: NodeHarness;
    let operator: OperatorProcess;
    let agent: ComponentProcess;
    let stateDir: string;
    let runs = 1;
    const scratch = mkdtempSync(join(tmpdir(), 'crosstalk-confirm-'));

    before(async function () {
      requireOrSkip(this, missingBpf());
      ({ node, operator, agent, stateDir } = await startNodeStack(cp(), { namespaces: ['shop', 'batch'] }));
    });
    const launchAgent = async () => {
      agent = await startAgentOn(cp(), node, stateDir, ++runs);
    };

    after(async function () {
      await stopNodeStack({ node, operator, agent, stateDir });
      rmSync(scratch, { recursive: true, force: true });
    });

    const pods: HarnessPod[] = [];
    async function run(spec: HarnessPodSpec): Promise<HarnessPod> {
      const pod = await node.createPod(spec);
      pods.push(pod);
      return pod;
    }
    afterEach(async function () {
      for (const p of pods.splice(0)) await node.deletePod(p.namespace, p.name);
      await kubectl(cp(), ['delete', 'dsess', '-n', 'shop', '--all', '--wait=true']);
      if (!agent.running) await launchAgent();
    });

    const burner = (name: string, namespace: string, workers = 1, annotations?: Record<string, string>) => ({
      name,
      namespace,
      labels: { app: name },
      ...(annotations ? { annotations } : {}),
      containers: [{ name: 'burn', command: cpuHog({ workers }), cpus: '1' }],
    });

    async function session(name: string, app: string, duration = '20s'): Promise<void> {
      const manifest = {
        apiVersion: 'crosstalk.dev/v1alpha1',
        kind: 'DiagnosticSession',
        metadata: { name, namespace: 'shop' },
        spec: {
          selector: { matchLabels: { app } },
          duration,
          interval: '2s',
          confirm: { enabled: true, maxSeconds: 3 },
        },
      };
      await kubectl(cp(), ['apply', '-f', '-'], { input: JSON.stringify(manifest), check: true });
    }

    async function completed(name: string, victim: string): Promise<VictimReport> {
      await kubectl(cp(), ['wait', '-n', 'shop', `dsess/${name}`, '--for=condition=Completed', '--timeout=90s'], {
        check: true,
      });
      const out = await kubectl(cp(), ['get', 'dsess', '-n', 'shop', name, '-o', 'json'], { check: true });
      const report = (JSON.parse(out.stdout) as SessionJson).status?.reports?.find((r) => r.name === victim);
      if (!report) throw new Error(`no report for ${victim}: ${out.stdout}`);
      return report;
    }

    const confirmationOf = (report: VictimReport, suspect: string) =>
      report.aggressors?.find((a) => a.pod?.name === suspect)?.confirmation;

    /** The pod's CPU quota file: cpu.max on cgroup v2, cpu.cfs_quota_us on v1. */
    const quotaOf = (pod: HarnessPod) =>
      existsSync(join(pod.cgroup.dir('unified'), 'cpu.max'))
        ? pod.cgroup.read('cpu.max').trim()
        : pod.cgroup.read('cpu.cfs_quota_us', 'cpu').trim();

    it('confirms a CPU aggressor: the victim recovers while it is capped, and its quota comes back', async function () {
      await run(burner('checkout', 'shop'));
      const etl = await run(burner('etl', 'batch', 3));
      const quota = quotaOf(etl);
      await session('cpu', 'checkout');
      const capped = await eventually(
        () => {
          expect(quotaOf(etl)).to.not.equal(quota);
          return quotaOf(etl);
        },
        30_000,
        100,
      );
      const report = await completed('cpu', 'checkout');
      const c = confirmationOf(report, 'etl');
      expect(c, JSON.stringify(report)).to.deep.include({ result: 'Confirmed' });
      expect(c!.lossDuringPercent!).to.be.at.most(0.5 * c!.lossBeforePercent!);
      const steps = agent
        .log()
        .filter((l) => l.msg.startsWith('confirmation'))
        .map((l) => JSON.stringify(l));
      expect(c!.restrainedSeconds, steps.join('\n')).to.be.within(2.9, 3.3); // maxSeconds, to the agent's timer
      expect(quotaOf(etl), `restored after ${capped}`).to.equal(quota);
      const events = JSON.parse(
        (await kubectl(cp(), ['get', 'events.events.k8s.io', '-n', 'batch', '-o', 'json'], { check: true })).stdout,
      ) as { items: EventJson[] };
      const onEtl = events.items.filter((e) => e.regarding?.name === 'etl').map((e) => e.reason);
      expect(onEtl).to.include.members(['ConfirmationStarted', 'InterferenceConfirmed']);
    });

    it('does not confirm a suspect whose place another neighbour takes', async function () {
      // Ground truth: two workers of the suspect and two of a kube-system pod (never
      // restrained) share the victim's CPU: capping the suspect hands its share to the
      // other, and the victim hardly waits less.
      await run(burner('search', 'shop'));
      await run(burner('indexer', 'batch', 3));
      await run(burner('daemon', 'kube-system', 2));
      await session('shared', 'search');
      const report = await completed('shared', 'search');
      const c = confirmationOf(report, 'indexer');
      expect(c, JSON.stringify(report)).to.deep.include({ result: 'NotConfirmed' });
      expect(c!.reason).to.equal("the victim's loss did not fall by half while the suspect was restrained");
    });

    it('skips a pod annotated crosstalk.dev/no-confirm', async function () {
      await run(burner('cart', 'shop'));
      const etl = await run(burner('etl-2', 'batch', 3, { 'crosstalk.dev/no-confirm': 'true' }));
      const quota = quotaOf(etl);
      await session('annotated', 'cart', '8s');
      const c = confirmationOf(await completed('annotated', 'cart'), 'etl-2');
      expect(c).to.deep.include({ result: 'Skipped', reason: 'the pod is annotated crosstalk.dev/no-confirm' });
      expect(quotaOf(etl)).to.equal(quota);
    });

    it('confirms a direct writer with an IO throttle on the victim’s disk', async function () {
      const dir = (name: string) => {
        const d = join(scratch, name);
        mkdirSync(d, { recursive: true });
        return d;
      };
      await run({
        name: 'db',
        namespace: 'shop',
        labels: { app: 'db' },
        containers: [{ name: 'reader', command: fioJob({ dir: dir('db'), rw: 'randread', size: '64M' }) }],
      });
      await sleep(3000); // fio lays its file out
      await run({
        name: 'backup',
        namespace: 'batch',
        labels: { app: 'backup' },
        containers: ['a', 'b'].map((n) => ({
          name: `writer-${n}`,
          command: fioJob({ dir: dir(`backup-${n}`), rw: 'write', size: '512M', blockSize: '1M' }),
        })),
      });
      await session('io', 'db');
      const report = await completed('io', 'db');
      const c = confirmationOf(report, 'backup');
      expect(c, JSON.stringify(report)).to.deep.include({ result: 'Confirmed' });
      expect(c!.restraint).to.match(/^(io\.max|blkio throttle) \d+:\d+/);
    });

    it('restores the suspect first when an agent killed mid-experiment comes back', async function () {
      await run(burner('checkout-k', 'shop'));
      const etl = await run(burner('etl-k', 'batch', 3));
      const quota = quotaOf(etl);
      await session('killed', 'checkout-k', '30s');
      await eventually(() => expect(quotaOf(etl)).to.not.equal(quota), 30_000, 100);
      await agent.kill(); // SIGKILL: nothing restored yet
      expect(quotaOf(etl), 'still restrained while no agent runs').to.not.equal(quota);
      await launchAgent();
      expect(quotaOf(etl), 'restored by the time the agent says it started').to.equal(quota);
    });
  });
});
