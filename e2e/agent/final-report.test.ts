// A Completed session's report is final (issue 23): real agents on three harness nodes,
// the operator, real probes and workloads. After Completed, nothing in the reports or the
// summary changes again — over several intervals, across an operator restart and an
// agent restart; an agent that dies before its deadline is named and the session
// completes without it; a continuous session deleted mid-window leaves no status writes.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { ComponentProcess } from '../../testbed/cluster/component-process.js';
import { allCpus, setCpuAffinity } from '../../testbed/cluster/cpu-affinity.js';
import { eventually } from '../../testbed/cluster/eventually.js';
import { kubectl } from '../../testbed/cluster/kubectl.js';
import { startAgent } from '../../testbed/components/agent-process.js';
import { OperatorProcess } from '../../testbed/components/operator-process.js';
import { missingBpf, requireOrSkip } from '../../testbed/host/requirements.js';
import { NodeHarness } from '../../testbed/kubelet/node-harness.js';
import { cpuHog } from '../../testbed/workloads/commands.js';
import { useControlPlane } from '../support/mocha.js';
import { applySession, readSession, type SessionJson } from '../support/sessions.js';

const nodeNames = ['node-a', 'node-b', 'node-c'] as const;
const systemCpu = '0';

describe('a Completed session’s report is final (e2e)', function () {
  this.timeout(240_000);
  const cp = useControlPlane();

  describe('with an agent on each of three harness nodes', function () {
    const nodes = new Map<string, NodeHarness>();
    const agents = new Map<string, ComponentProcess>();
    let operator: OperatorProcess;
    let stateDir: string;
    let runs = 0;

    const launchAgent = async (node: string) => {
      const harness = nodes.get(node)!;
      agents.set(
        node,
        await startAgent(
          cp(),
          { nodeName: node, cgroupScope: harness.cgroupScope, stateDir: join(stateDir, node) },
          ++runs,
        ),
      );
    };

    before(async function () {
      requireOrSkip(this, missingBpf());
      for (const c of cp().components) setCpuAffinity(c.pid, systemCpu);
      setCpuAffinity(process.pid, systemCpu);
      stateDir = mkdtempSync(join(tmpdir(), 'crosstalk-agent-state-'));
      for (const node of nodeNames)
        nodes.set(node, await NodeHarness.start({ kubeconfig: cp().kubeconfigPath('admin'), nodeName: node }));
      operator = await OperatorProcess.start(cp(), 'op-1', ['--no-leader-elect']);
      for (const node of nodeNames) await launchAgent(node);
      for (const ns of ['shop', 'batch']) await kubectl(cp(), ['create', 'namespace', ns], { check: true });
      // Ground truth: a victim on each node. The harness nodes share this machine's CPUs,
      // so only node-a's victim burns CPU 1, beside three burners; the others sleep.
      for (const node of nodeNames)
        await nodes.get(node)!.createPod({
          name: `checkout-${node}`,
          namespace: 'shop',
          labels: { app: 'checkout' },
          containers: [
            node === 'node-a'
              ? { name: 'app', command: cpuHog(), cpus: '1' }
              : { name: 'app', command: ['sleep', '3600'] },
          ],
        });
      await nodes.get('node-a')!.createPod({
        name: 'etl',
        namespace: 'batch',
        labels: { app: 'etl' },
        containers: [{ name: 'worker', command: cpuHog({ workers: 3 }), cpus: '1' }],
      });
    });

    after(async function () {
      setCpuAffinity(process.pid, allCpus());
      for (const agent of agents.values()) if (agent.running) await agent.stop();
      if (operator?.running) await operator.stop();
      for (const node of nodes.values()) await node.close();
      if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    });

    const apply = (name: string, spec: Record<string, unknown>) => applySession(cp(), name, spec);
    const read = (name: string) => readSession(cp(), name);

    /** What must never change once Completed. */
    const finalPart = (s: SessionJson) => ({
      reports: s.status?.reports,
      summary: s.status?.summary,
      completionTime: s.status?.completionTime,
    });

    const condition = (s: SessionJson, type: string) => s.status?.conditions?.find((c) => c.type === type);

    afterEach(async function () {
      for (const name of ['final', 'lost', 'open'])
        await kubectl(cp(), ['delete', 'dsess', '-n', 'shop', name, '--ignore-not-found', '--wait=true']);
      for (const node of nodeNames) if (!agents.get(node)?.running) await launchAgent(node);
    });

    it('waits for every node’s final window, then never changes: over intervals, an operator and an agent restart', async function () {
      await apply('final', { selector: { matchLabels: { app: 'checkout' } }, duration: '8s', interval: '2s' });
      // The documented way to wait (docs/architecture.md).
      const waited = await kubectl(
        cp(),
        ['wait', '-n', 'shop', 'dsess/final', '--for=condition=Completed', '--timeout=60s'],
        { check: true },
      );
      expect(waited.stdout).to.match(/condition met/);
      const first = await read('final');
      expect(first.status?.phase).to.equal('Completed');
      expect(condition(first, 'Completed')).to.deep.include({ status: 'True', reason: 'FinalWindowsReported' });
      expect(first.status?.reports?.map((r) => r.node).sort()).to.deep.equal([...nodeNames]);
      const onA = first.status?.reports?.find((r) => r.node === 'node-a');
      expect(onA?.aggressors?.[0]?.pod?.name, JSON.stringify(onA)).to.equal('etl');

      await sleep(6000); // three intervals
      expect(finalPart(await read('final')), 'three intervals later').to.deep.equal(finalPart(first));
      await operator.stop();
      operator = await OperatorProcess.start(cp(), 'op-2', ['--no-leader-elect']);
      await agents.get('node-b')!.kill();
      await launchAgent('node-b');
      await sleep(4000);
      expect(finalPart(await read('final')), 'after an operator and an agent restart').to.deep.equal(finalPart(first));
    });

    it('completes without a node whose agent died before its deadline, and names it', async function () {
      await apply('lost', { selector: { matchLabels: { app: 'checkout' } }, duration: '8s', interval: '2s' });
      await eventually(async () => expect((await read('lost')).status?.phase).to.equal('Running'), 30_000, 250);
      await sleep(5000); // just before the deadline
      await agents.get('node-c')!.kill();
      const done = await eventually(
        async () => {
          const s = await read('lost');
          expect(s.status?.phase).to.equal('Completed');
          return s;
        },
        60_000,
        500,
      );
      expect(condition(done, 'NodesReporting')).to.deep.include({ status: 'False', reason: 'FinalWindowMissing' });
      expect(condition(done, 'NodesReporting')?.message).to.match(/^no final window from node-c after the deadline/);
      expect(condition(done, 'Completed')).to.deep.include({ status: 'True', reason: 'FinalWindowMissing' });
    });

    it('leaves no status writes behind when a continuous session is deleted mid-window', async function () {
      await apply('open', { selector: { matchLabels: { app: 'checkout' } }, interval: '4s' });
      await eventually(
        async () => expect((await read('open')).status?.nodes).to.deep.include({ ready: 3 }),
        30_000,
        250,
      );
      await sleep(1000); // mid-window
      await kubectl(cp(), ['delete', 'dsess', '-n', 'shop', 'open', '--wait=true'], { check: true });
      const writes = async () => {
        let total = 0;
        for (const agent of agents.values()) total += await agent.metric('crosstalk_agent_status_writes_total');
        return total;
      };
      const after = await writes();
      await sleep(5000); // past the window that was open
      expect(await writes(), 'status writes after the deletion').to.equal(after);
      const left = await kubectl(cp(), ['get', 'nodediagnostics', '-n', 'shop', '-o', 'name'], { check: true });
      expect(left.stdout.split('\n').filter((n) => n.includes('/open-'))).to.deep.equal([]);
    });
  });
});
