// The operator against a real kube-apiserver: it runs as its own process with the operator
// identity, pods run on harness nodes, and node results are written the way an agent does
// (agent identity, status subresource). Everything is checked through kubectl.
import { expect } from 'chai';

import { missingRoot, requireOrSkip } from '../../testbed/host/requirements.js';
import { eventually } from '../../testbed/cluster/eventually.js';
import { kubectl, type KubectlOptions } from '../../testbed/cluster/kubectl.js';
import { useControlPlane } from '../support/mocha.js';
import { NodeHarness } from '../../testbed/kubelet/node-harness.js';
import { ContentType, KubeClient } from '../../common/kube/client.js';
import { paths } from '../../common/kube/paths.js';
import { leaseNamespace, OperatorProcess } from '../../testbed/components/operator-process.js';

interface Item {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  };
  spec: { nodeName: string; targets: { name: string; uid: string }[] };
  status?: Record<string, unknown>;
}

interface SessionStatus {
  phase?: string;
  nodes?: { readyOfTotal: string };
  summary?: { victims: number; verdict?: string; topAggressor?: string };
  conditions?: { type: string; status: string; reason: string; message: string }[];
  reports?: { name: string; node: string; verdict: string }[];
  completionTime?: string;
}

const sleeper = [{ name: 'main', command: ['sleep', '3600'] }];

describe('operator (e2e)', function () {
  this.timeout(180_000);
  const cp = useControlPlane();
  // Nested, so that its after hook (closing the nodes) runs before the control plane stops.
  describe('with three harness nodes and a running operator', function () {
    const nodes: NodeHarness[] = [];
    const operators: OperatorProcess[] = [];
    let operator: OperatorProcess;

    async function k(args: string[], options: KubectlOptions = {}) {
      return kubectl(cp(), args, { check: true, ...options });
    }

    async function json<T>(args: string[]): Promise<T> {
      return JSON.parse((await k([...args, '-o', 'json'])).stdout) as T;
    }

    async function nodeDiagnostics(namespace: string): Promise<Item[]> {
      return (await json<{ items: Item[] }>(['get', 'nodediagnostics', '-n', namespace])).items;
    }

    async function session(
      namespace: string,
      name: string,
    ): Promise<{ metadata: Item['metadata']; status?: SessionStatus }> {
      return json(['get', 'dsess', '-n', namespace, name]);
    }

    function condition(status: SessionStatus | undefined, type: string) {
      return status?.conditions?.find((c) => c.type === type);
    }

    async function applySession(namespace: string, name: string, spec: Record<string, unknown>) {
      const manifest = {
        apiVersion: 'crosstalk.dev/v1alpha1',
        kind: 'DiagnosticSession',
        metadata: { name, namespace },
        spec,
      };
      return kubectl(cp(), ['apply', '-f', '-'], { input: JSON.stringify(manifest) });
    }

    /** Writes a NodeDiagnostic's status as the agent of its node does: with its own identity,
     * straight to the status subresource (agents may patch it, not read it), stating the
     * spec generation it applies. */
    async function writeAgentStatus(item: Item, status: Record<string, unknown>) {
      const { namespace, name } = item.metadata;
      const current = await json<{ metadata: { generation: number } }>([
        'get',
        'nodediagnostic',
        '-n',
        namespace,
        name,
      ]);
      const agent = KubeClient.load(cp().kubeconfigPath(`agent:${item.spec.nodeName}`));
      await agent.patch(
        paths.nodeDiagnostics(namespace, name, 'status'),
        { status: { observedGeneration: current.metadata.generation, phase: 'Measuring', ...status } },
        ContentType.mergePatch,
      );
    }

    async function startOperator(identity: string): Promise<OperatorProcess> {
      const op = await OperatorProcess.start(cp(), identity);
      operators.push(op);
      return op;
    }

    before(async function () {
      requireOrSkip(this, missingRoot());

      for (const ns of ['shop', 'batch', 'bad', 'cart']) await k(['create', 'namespace', ns]);
      for (const [name, labels] of [
        ['node-a', {}],
        ['node-b', { disk: 'ssd' }],
        ['node-c', {}],
      ] as const) {
        nodes.push(await NodeHarness.start({ kubeconfig: cp().kubeconfigPath('admin'), nodeName: name, labels }));
      }
      operator = await startOperator('op-1');
    });

    after(async function () {
      for (const op of operators) if (op.running) await op.stop();
      for (const node of nodes) await node.close();
    });

    const nodeA = () => nodes[0]!;
    const nodeB = () => nodes[1]!;
    const nodeC = () => nodes[2]!;
    const pod = (harness: () => NodeHarness, name: string, labels: Record<string, string>, namespace = 'shop') =>
      harness().createPod({ name, namespace, labels, containers: sleeper });

    it('creates NodeDiagnostics only for the nodes that host victims, owned by the session', async function () {
      const checkout1 = await pod(nodeA, 'checkout-1', { app: 'checkout' });
      const checkout2 = await pod(nodeB, 'checkout-2', { app: 'checkout' });
      await pod(nodeC, 'cart-1', { app: 'cart' });
      await pod(nodeC, 'etl', { app: 'etl' }, 'batch');
      const applied = await applySession('shop', 'checkout-latency', {
        selector: { matchLabels: { app: 'checkout' } },
        duration: '30m',
        interval: '5s',
      });
      expect(applied.code, applied.stderr).to.equal(0);

      const children = await eventually(async () => {
        const items = await nodeDiagnostics('shop');
        expect(items.map((i) => i.spec.nodeName).sort()).to.deep.equal(['node-a', 'node-b']);
        return items;
      });
      const sessionUid = (await session('shop', 'checkout-latency')).metadata.uid;
      for (const child of children) {
        expect(child.metadata.name).to.equal(`checkout-latency-${child.spec.nodeName}`);
        expect(child.metadata.ownerReferences).to.deep.equal([
          {
            apiVersion: 'crosstalk.dev/v1alpha1',
            kind: 'DiagnosticSession',
            name: 'checkout-latency',
            uid: sessionUid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ]);
      }
      const targets = Object.fromEntries(children.map((c) => [c.spec.nodeName, c.spec.targets.map((t) => t.uid)]));
      expect(targets).to.deep.equal({ 'node-a': [checkout1.uid], 'node-b': [checkout2.uid] });

      // Each agent sees only its own NodeDiagnostic through the selectable field.
      const mine = await k(['get', 'nodediag', '-A', '--field-selector', 'spec.nodeName=node-b', '-o', 'name'], {
        identity: 'agent:node-b',
      });
      expect(mine.stdout.trim()).to.equal('nodediagnostic.crosstalk.dev/checkout-latency-node-b');

      await eventually(async () => {
        const table = (await k(['get', 'dsess', '-n', 'shop'])).stdout;
        expect(table).to.match(/^NAME\s+PHASE\s+NODES\s+VICTIMS\s+VERDICT\s+TOP AGGRESSOR\s+AGE\n/);
        expect(table).to.match(/\ncheckout-latency\s+Running\s+0\/2\s+2\s+/);
      });
    });

    it("shows the agents' results in kubectl get and the session status, with events", async function () {
      const children = await nodeDiagnostics('shop');
      const a = children.find((c) => c.spec.nodeName === 'node-a')!;
      const b = children.find((c) => c.spec.nodeName === 'node-b')!;
      const etl = (await json<Item>(['get', 'pod', '-n', 'batch', 'etl'])).metadata;
      const t = new Date().toISOString();
      const window = { intervalSeconds: 5, sequence: 3, windowsReported: 3, firstStart: t, start: t, end: t };
      await writeAgentStatus(a, {
        window,
        probes: [{ name: 'cpu', state: 'Active' }],
        pods: [
          {
            ...a.spec.targets[0],
            namespace: 'shop',
            verdict: 'High',
            score: 82,
            metrics: {
              cpu: {
                runqWaitSeconds: 5.7,
                waitPercent: 38.2,
                runqP99Ms: 41,
                involuntaryPreemptions: 912,
                throttledSeconds: 0,
              },
            },
            aggressors: [
              {
                pod: { namespace: 'batch', name: 'etl', uid: etl.uid },
                resource: 'cpu',
                sharePercent: 81,
                evidence: "held CPU 0 for 4.6 s of the victim's 5.7 s wait",
              },
            ],
          },
        ],
      });
      await writeAgentStatus(b, {
        window,
        probes: [
          { name: 'cpu', state: 'Active' },
          { name: 'cache', state: 'Unsupported', reason: 'no hardware PMU' },
        ],
        pods: [{ ...b.spec.targets[0], namespace: 'shop', verdict: 'None', score: 1 }],
      });

      await eventually(async () => {
        const table = (await k(['get', 'dsess', '-n', 'shop', 'checkout-latency'])).stdout;
        expect(table).to.match(/\ncheckout-latency\s+Running\s+2\/2\s+2\s+High\s+batch\/etl \(cpu 81%\)\s+\d+s\n/);
      });
      const status = (await session('shop', 'checkout-latency')).status!;
      expect(status.reports?.map((r) => `${r.name} ${r.node} ${r.verdict}`)).to.deep.equal([
        'checkout-1 node-a High',
        'checkout-2 node-b None',
      ]);
      expect(condition(status, 'ProbesHealthy')).to.include({
        status: 'False',
        reason: 'ProbeUnsupported',
        message: 'cache unsupported on node-b: no hardware PMU (the other probes keep measuring)',
      });
      expect(condition(status, 'InterferenceDetected')?.status).to.equal('True');
      const yaml = (await k(['get', 'dsess', '-n', 'shop', 'checkout-latency', '-o', 'yaml'])).stdout;
      expect(yaml).to.contain("evidence: held CPU 0 for 4.6 s of the victim's 5.7 s wait");

      const events = await eventually(async () => {
        const list = await json<{ items: { regarding: { kind: string; name: string }; type: string; note: string }[] }>(
          ['get', 'events.v1.events.k8s.io', '-n', 'shop', '--field-selector', 'reason=InterferenceDetected'],
        );
        expect(list.items.map((e) => `${e.regarding.kind}/${e.regarding.name}`).sort()).to.deep.equal([
          'DiagnosticSession/checkout-latency',
          'Pod/checkout-1',
        ]);
        return list.items;
      });
      expect(events[0]!.type).to.equal('Warning');
      expect(events[0]!.note).to.contain('top aggressor batch/etl (cpu 81%)');
      const described = (await k(['describe', 'pod', '-n', 'shop', 'checkout-1'])).stdout;
      expect(described).to.match(/InterferenceDetected/);
    });

    it('changes nothing when restarted mid-session: no writes, no repeated events', async function () {
      const before = {
        session: (await session('shop', 'checkout-latency')).metadata.resourceVersion,
        children: (await nodeDiagnostics('shop')).map((c) => `${c.metadata.name}@${c.metadata.resourceVersion}`),
        events: (await k(['get', 'events.v1.events.k8s.io', '-n', 'shop', '-o', 'name'])).stdout,
      };
      await operator.kill();
      operator = await startOperator('op-1-restarted');
      await eventually(async () => {
        expect(operator.log().some((l) => l.msg === 'became leader')).to.be.true;
        expect(await operator.metric('crosstalk_operator_reconciles_total')).to.be.at.least(1);
      }, 60_000);
      await new Promise((r) => setTimeout(r, 3000));
      expect((await session('shop', 'checkout-latency')).metadata.resourceVersion).to.equal(before.session);
      expect(
        (await nodeDiagnostics('shop')).map((c) => `${c.metadata.name}@${c.metadata.resourceVersion}`),
      ).to.deep.equal(before.children);
      expect((await k(['get', 'events.v1.events.k8s.io', '-n', 'shop', '-o', 'name'])).stdout).to.equal(before.events);
      expect(
        operator.log().filter((l) => l.msg === 'applied NodeDiagnostic' || l.msg === 'emitted event'),
      ).to.deep.equal([]);
    });

    it('follows a deleted victim: its node drops out of the session', async function () {
      await nodeB().deletePod('shop', 'checkout-2');
      await eventually(async () => {
        expect((await nodeDiagnostics('shop')).map((c) => c.spec.nodeName)).to.deep.equal(['node-a']);
        const status = (await session('shop', 'checkout-latency')).status!;
        expect(status.summary?.victims).to.equal(1);
        expect(status.nodes?.readyOfTotal).to.equal('1/1');
      });
    });

    it('follows a selector change to other pods and nodes', async function () {
      await k([
        'patch',
        'dsess',
        'checkout-latency',
        '-n',
        'shop',
        '--type=merge',
        '-p',
        '{"spec":{"selector":{"matchLabels":{"app":"cart"}}}}',
      ]);
      await eventually(async () => {
        const items = await nodeDiagnostics('shop');
        expect(items.map((c) => `${c.spec.nodeName}:${c.spec.targets.map((t) => t.name).join(',')}`)).to.deep.equal([
          'node-c:cart-1',
        ]);
        const status = (await session('shop', 'checkout-latency')).status!;
        expect(status.summary?.victims).to.equal(1);
        expect(status.nodes?.readyOfTotal, 'no agent has reported on node-c').to.equal('0/1');
        expect(condition(status, 'NodesReporting')?.reason).to.equal('AwaitingNodes');
      });
    });

    it('completes a session when its duration has elapsed, without a node whose final window never comes', async function () {
      await pod(nodeA, 'quick-1', { app: 'quick' }, 'cart');
      expect(
        (
          await applySession('cart', 'quick', {
            selector: { matchLabels: { app: 'quick' } },
            duration: '4s',
            interval: '1s',
          })
        ).code,
      ).to.equal(0);
      const status = await eventually(async () => {
        const s = (await session('cart', 'quick')).status!;
        expect(s.phase).to.equal('Completed');
        return s;
      }, 30_000);
      expect(status.completionTime).to.be.a('string');
      // No agent runs here: the session waited a few intervals for node-a's final window.
      expect(condition(status, 'Completed')).to.deep.include({ status: 'True', reason: 'FinalWindowMissing' });
      expect(condition(status, 'NodesReporting')?.message).to.match(/^no final window from node-a after the deadline/);
      const children = await nodeDiagnostics('cart');
      expect(
        children.map((c) => c.spec.nodeName),
        'kept for their final reports',
      ).to.deep.equal(['node-a']);
      const events = (
        await k([
          'get',
          'events.v1.events.k8s.io',
          '-n',
          'cart',
          '--field-selector',
          'reason=SessionCompleted',
          '-o',
          'name',
        ])
      ).stdout;
      expect(events.trim().split('\n')).to.have.length(1);
    });

    it('removes the NodeDiagnostics of a deleted session before the session goes', async function () {
      await k(['delete', 'dsess', 'quick', '-n', 'cart', '--timeout=60s']);
      expect(await nodeDiagnostics('cart')).to.deep.equal([]);
    });

    it('rejects or flags ten malformed sessions, and neither crashes nor hot-loops', async function () {
      const selector = { matchLabels: { app: 'checkout' } };
      const rejected: [string, Record<string, unknown>, RegExp][] = [
        ['no-selector', { duration: '5m' }, /spec.selector: Required value/],
        [
          'short-duration',
          { selector, duration: '5s', interval: '10s' },
          /duration must be at least one interval long/,
        ],
        ['tiny-interval', { selector, interval: '100ms' }, /interval must be between 1s and 10m/],
        ['iso-duration', { selector, duration: 'PT5M' }, /spec.duration in body should match/],
        ['unknown-backend', { selector, backend: 'gpu' }, /Unsupported value: "gpu"/],
        [
          'no-probes',
          {
            selector,
            probes: Object.fromEntries(['cpu', 'io', 'memory', 'cache', 'psi'].map((p) => [p, { enabled: false }])),
          },
          /at least one probe must be enabled/,
        ],
        [
          'in-without-values',
          { selector: { matchExpressions: [{ key: 'app', operator: 'In' }] } },
          /need at least one value/,
        ],
        ['too-many-events', { selector, maxEvents: 100000 }, /spec.maxEvents: Invalid value: 100000/],
      ];
      for (const [name, spec, message] of rejected) {
        const result = await applySession('bad', name, spec);
        expect(result.code, `${name} was accepted`).to.not.equal(0);
        expect(result.stderr, name).to.match(message);
      }

      const flagged: [string, Record<string, unknown>, string, string, RegExp][] = [
        [
          'bad-label-key',
          { selector: { matchLabels: { 'bad key!': 'x' } } },
          'SpecValid',
          'InvalidSpec',
          /label key "bad key!"/,
        ],
        [
          'no-such-namespace',
          { selector, namespaces: ['nowhere'] },
          'TargetsResolved',
          'NoTargets',
          /no pod in namespace nowhere matches the selector app=checkout/,
        ],
        [
          'no-such-nodes',
          { selector: { matchLabels: { app: 'checkout' } }, namespaces: ['shop'], nodeSelector: { disk: 'nvme' } },
          'TargetsResolved',
          'NoTargets',
          /do not carry spec.nodeSelector disk=nvme/,
        ],
      ];
      for (const [name, spec] of flagged) expect((await applySession('bad', name, spec)).code, name).to.equal(0);
      for (const [name, , type, reason, message] of flagged) {
        await eventually(async () => {
          const c = condition((await session('bad', name)).status, type);
          expect(c, `${name}: ${type}`).to.include({ status: 'False', reason });
          expect(c!.message).to.match(message);
        });
      }
      expect((await session('bad', 'bad-label-key')).status?.phase).to.equal('Failed');
      expect((await session('bad', 'no-such-namespace')).status?.phase).to.equal('Pending');
      expect(await nodeDiagnostics('bad')).to.deep.equal([]);

      // Each status write comes back as a watch event and one more reconcile up to a status
      // interval (1 s) later: count from when those have passed.
      await new Promise((r) => setTimeout(r, 2500));
      const reconciles = await operator.metric('crosstalk_operator_reconciles_total');
      await new Promise((r) => setTimeout(r, 5000));
      expect(operator.running).to.be.true;
      expect(
        (await operator.metric('crosstalk_operator_reconciles_total')) - reconciles,
        'reconciles in 5 idle seconds',
      ).to.be.below(5);
      expect(await operator.metric('crosstalk_operator_reconciles_total', 'result="terminal"')).to.equal(0);
    });

    it('runs two replicas with one leader; the standby takes over when the leader dies', async function () {
      const standby = await startOperator('op-2');
      await eventually(async () => expect((await standby.http('/readyz')).status).to.equal(200));
      expect((await operator.http('/readyz')).status).to.equal(200);
      const holder = async () =>
        (await k(['get', 'lease', 'crosstalk-operator', '-n', leaseNamespace, '-o', 'jsonpath={.spec.holderIdentity}']))
          .stdout;
      expect(await holder()).to.equal(operator.identity);
      expect(await standby.metric('crosstalk_operator_leader')).to.equal(0);
      expect(await operator.metric('crosstalk_operator_leader')).to.equal(1);

      // The standby does nothing while the leader lives.
      await pod(nodeC, 'web-1', { app: 'web' }, 'cart');
      expect((await applySession('cart', 'web', { selector: { matchLabels: { app: 'web' } } })).code).to.equal(0);
      await eventually(async () =>
        expect((await nodeDiagnostics('cart')).map((c) => c.metadata.name)).to.deep.equal(['web-node-c']),
      );
      expect(standby.log().filter((l) => l.msg === 'applied NodeDiagnostic')).to.deep.equal([]);
      expect(await standby.metric('crosstalk_operator_reconciles_total')).to.equal(0);

      const killedAt = Date.now();
      await operator.kill();
      await eventually(async () => expect(await holder()).to.equal('op-2'), 30_000);
      const takeover = Date.now() - killedAt;
      console.log(`      standby took over ${(takeover / 1000).toFixed(1)} s after the leader was killed (lease 4 s)`);
      expect(await standby.metric('crosstalk_operator_leader')).to.equal(1);

      await pod(nodeB, 'web-2', { app: 'web' }, 'cart');
      await eventually(async () =>
        expect((await nodeDiagnostics('cart')).map((c) => c.spec.nodeName).sort()).to.deep.equal(['node-b', 'node-c']),
      );
      expect(
        standby
          .log()
          .some((l) => l.msg === 'applied NodeDiagnostic' && (l.node as { name?: string })?.name === 'node-b'),
      ).to.be.true;
      operator = standby;
    });
  });
});
