// The API answers badly (issue 22), with a real agent, the operator and real probes: a
// failing validating webhook on nodediagnostics/status makes every status write a 500;
// API Priority and Fairness set low for the agents' flow answers 429 under load. Status
// writes back off and recover with no window lost or counted twice. A NodeDiagnostic
// deleted under the agent comes back and is measured again; a namespace deleted with its
// session takes every object and finalizer with it, and the agent stops measuring.
import { expect } from 'chai';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { ApiError, ContentType, KubeClient } from '../../common/kube/client.js';
import { paths } from '../../common/kube/paths.js';
import type { ComponentProcess } from '../../testbed/cluster/component-process.js';
import { eventually } from '../../testbed/cluster/eventually.js';
import { agentGroup } from '../../testbed/cluster/identities.js';
import { kubectl } from '../../testbed/cluster/kubectl.js';
import type { OperatorProcess } from '../../testbed/components/operator-process.js';
import { missingBpf, requireOrSkip } from '../../testbed/host/requirements.js';
import type { NodeHarness } from '../../testbed/kubelet/node-harness.js';
import { cpuAggressorPod, cpuVictimPod } from '../../testbed/workloads/pods.js';
import { useControlPlane } from '../support/mocha.js';
import { startNodeStack, stopNodeStack } from '../support/node-stack.js';

interface Window {
  sequence: number;
  windowsReported: number;
  firstStart: string;
  end: string;
}

interface NodeDiagnosticJson {
  metadata: { name: string; uid: string };
  status?: { window?: Window };
}

const intervalS = 2;
const webhooks = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';
const flowcontrol = '/apis/flowcontrol.apiserver.k8s.io/v1';

describe('throttling, errors and deletions under a running agent (e2e)', function () {
  this.timeout(300_000);
  const cp = useControlPlane();

  describe('one node, its agent and the operator', function () {
    let node: NodeHarness;
    let operator: OperatorProcess;
    let agent: ComponentProcess;
    let stateDir: string;
    let admin: KubeClient;

    before(async function () {
      requireOrSkip(this, missingBpf());
      admin = KubeClient.load(cp().kubeconfigPath('admin'));
      ({ node, operator, agent, stateDir } = await startNodeStack(cp(), { namespaces: ['shop', 'batch'] }));
      await node.createPod(cpuVictimPod());
      await node.createPod(cpuAggressorPod());
      await applySession('shop', 'steady');
    });

    after(() => stopNodeStack({ node, operator, agent, stateDir }));

    async function applySession(namespace: string, name: string): Promise<void> {
      await admin.create(paths.sessions(namespace), {
        apiVersion: 'crosstalk.dev/v1alpha1',
        kind: 'DiagnosticSession',
        metadata: { name, namespace },
        spec: { selector: { matchLabels: { app: 'checkout' } }, interval: `${intervalS}s` },
      });
    }

    async function nodeDiagnostic(namespace = 'shop', name = 'steady-node-a'): Promise<NodeDiagnosticJson> {
      return (await admin.get(paths.nodeDiagnostics(namespace, name))) as NodeDiagnosticJson;
    }

    async function windowAtLeast(sequence: number, uid?: string): Promise<Window> {
      return eventually(
        async () => {
          const nd = await nodeDiagnostic();
          const w = nd.status?.window;
          if (uid && nd.metadata.uid !== uid) throw new Error('another object');
          if (!w || w.sequence < sequence)
            throw new Error(`at window ${w?.sequence ?? 'none'}, waiting for ${sequence}`);
          return w;
        },
        90_000,
        500,
      );
    }

    const lost = (w: Window) => w.sequence - w.windowsReported;
    const writeErrors = () => agent.metric('crosstalk_agent_status_writes_total', 'result="error"');
    const failedWrites = () => agent.log().filter((l) => l.msg === 'status write failed; retrying with backoff');

    /** What a fault did to the status writes, and that every window came through once. */
    async function survives(fault: string, during: () => Promise<void>): Promise<string> {
      const before = await windowAtLeast(2);
      const errorsBefore = await writeErrors();
      const ticksBefore = await agent.metric('crosstalk_agent_ticks_total');
      const started = Date.now();
      await during();
      const faultS = (Date.now() - started) / 1000;
      const errors = (await writeErrors()) - errorsBefore;
      const ticks = (await agent.metric('crosstalk_agent_ticks_total')) - ticksBefore;
      const healed = Date.now();
      const after = await windowAtLeast(before.sequence + Math.floor(faultS / intervalS));
      const recoveredS = (Date.now() - healed) / 1000;
      expect(after.firstStart, 'the same figures, continued').to.equal(before.firstStart);
      expect(lost(after), 'windows lost').to.equal(lost(before));
      expect(agent.running && operator.running, 'neither process exits').to.be.true;
      await eventually(async () =>
        expect(await agent.metric('crosstalk_agent_status_write_backoff_seconds')).to.equal(0),
      );
      return (
        `${fault} for ${faultS.toFixed(0)} s: ${errors} failed status writes over ${ticks} agent ticks; ` +
        `windows ${before.sequence} → ${after.sequence}, lost ${lost(after) - lost(before)}; caught up ${recoveredS.toFixed(1)} s after`
      );
    }

    it('backs off while a failing webhook answers 500, then writes every window once', async function () {
      const attemptsBefore = failedWrites().length;
      const figures = await survives('webhook 500', async () => {
        await admin.create(webhooks, {
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingWebhookConfiguration',
          metadata: { name: 'crosstalk-unreachable' },
          webhooks: [
            {
              name: 'unreachable.crosstalk.dev',
              clientConfig: { url: 'https://127.0.0.1:1/validate' },
              rules: [
                {
                  operations: ['UPDATE'],
                  apiGroups: ['crosstalk.dev'],
                  apiVersions: ['*'],
                  resources: ['nodediagnostics/status'],
                },
              ],
              failurePolicy: 'Fail',
              sideEffects: 'None',
              admissionReviewVersions: ['v1'],
              timeoutSeconds: 2,
            },
          ],
        });
        await eventually(async () => expect(await writeErrors()).to.be.above(0), 30_000, 250);
        await sleep(15_000);
        const backoff = await agent.metric('crosstalk_agent_status_write_backoff_seconds');
        expect(backoff, 'backing off').to.be.above(1);
        expect(backoff, 'bounded').to.be.at.most(30);
        await admin.request('DELETE', `${webhooks}/crosstalk-unreachable`);
      });
      expect(String(failedWrites().at(-1)?.err)).to.match(
        /500 InternalError.*failed calling webhook "unreachable\.crosstalk\.dev"/,
      );
      // Doubling from 1 s: a handful of attempts in ~20 s, not one per tick.
      expect(failedWrites().length - attemptsBefore, 'write attempts while failing').to.be.at.most(6);
      console.log(`      ${figures}`);
    });

    it("answers the agents' flow with 429 under load (API Priority and Fairness), and no window is lost", async function () {
      // One seat, rejected at once when taken: the agents' priority level (nominal
      // concurrency 1 share of the server's, no borrowing, no queue).
      await admin.create(`${flowcontrol}/prioritylevelconfigurations`, {
        apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
        kind: 'PriorityLevelConfiguration',
        metadata: { name: 'crosstalk-agents' },
        spec: {
          type: 'Limited',
          limited: {
            nominalConcurrencyShares: 1,
            lendablePercent: 0,
            borrowingLimitPercent: 0,
            limitResponse: { type: 'Reject' },
          },
        },
      });
      await admin.create(`${flowcontrol}/flowschemas`, {
        apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
        kind: 'FlowSchema',
        metadata: { name: 'crosstalk-agents' },
        spec: {
          priorityLevelConfiguration: { name: 'crosstalk-agents' },
          matchingPrecedence: 500,
          distinguisherMethod: { type: 'ByUser' },
          rules: [
            {
              subjects: [{ kind: 'Group', group: { name: agentGroup } }],
              resourceRules: [
                { verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true },
              ],
            },
          ],
        },
      });
      /** A counter of the agents' priority level, from the apiserver's metrics. */
      const apf = async (name: string) => {
        const text = (await kubectl(cp(), ['get', '--raw', '/metrics'], { check: true })).stdout;
        let sum = 0;
        for (const line of text.split('\n'))
          if (line.startsWith(`${name}{`) && line.includes('priority_level="crosstalk-agents"'))
            sum += Number(line.slice(line.lastIndexOf(' ') + 1));
        return sum;
      };
      // Another node's agent holds every seat of that level: its status writes hang in a
      // webhook that accepts the connection and never answers (10 s each, then ignored).
      const sockets = new Set<Socket>();
      const hang = createServer((socket) => sockets.add(socket));
      await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
      await admin.create(paths.nodeDiagnostics('shop'), {
        apiVersion: 'crosstalk.dev/v1alpha1',
        kind: 'NodeDiagnostic',
        metadata: { name: 'flood-node', namespace: 'shop' },
        spec: { nodeName: 'flood-node', session: { name: 'none', uid: 'none' }, interval: '2s', targets: [] },
      });
      await admin.create(webhooks, {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: { name: 'crosstalk-hanging' },
        webhooks: [
          {
            name: 'hanging.crosstalk.dev',
            clientConfig: { url: `https://127.0.0.1:${(hang.address() as AddressInfo).port}/hang` },
            rules: [
              {
                operations: ['UPDATE'],
                apiGroups: ['crosstalk.dev'],
                apiVersions: ['*'],
                resources: ['nodediagnostics/status'],
              },
            ],
            matchConditions: [
              { name: 'flood-only', expression: "request.userInfo.username == 'crosstalk-agent:flood-node'" },
            ],
            failurePolicy: 'Ignore',
            sideEffects: 'None',
            admissionReviewVersions: ['v1'],
            timeoutSeconds: 10,
          },
        ],
      });
      const flood = KubeClient.load(cp().kubeconfigPath('agent:flood-node'));
      let flooding = true;
      let floodRequests = 0;
      let flood429 = 0;
      const floodLoop = async () => {
        while (flooding) {
          floodRequests++;
          try {
            await flood.patch(
              paths.nodeDiagnostics('shop', 'flood-node', 'status'),
              { status: { phase: 'Starting' } },
              ContentType.mergePatch,
            );
          } catch (err) {
            if (!(err instanceof ApiError) || err.status !== 429) throw err;
            flood429++;
            await sleep(200);
          }
        }
      };
      const throttled = () => failedWrites().filter((l) => /: 429 /.test(String(l.err)));
      const agent429Before = throttled().length;
      const figures = await survives('APF seats held', async () => {
        // The flow schema is in effect once requests are dispatched at its level.
        await eventually(
          async () => {
            await flood.get(paths.nodeDiagnostics('shop', 'flood-node'));
            expect(await apf('apiserver_flowcontrol_dispatched_requests_total')).to.be.above(0);
          },
          30_000,
          500,
        );
        const loops = Array.from({ length: 20 }, floodLoop);
        await sleep(25_000);
        flooding = false;
        await Promise.all(loops);
        await admin.request('DELETE', `${webhooks}/crosstalk-hanging`);
      });
      for (const socket of sockets) socket.destroy();
      hang.close();
      const agent429 = throttled().length - agent429Before;
      const apfRejected = await apf('apiserver_flowcontrol_rejected_requests_total');
      await admin.request('DELETE', `${flowcontrol}/flowschemas/crosstalk-agents`);
      await admin.request('DELETE', `${flowcontrol}/prioritylevelconfigurations/crosstalk-agents`);
      await admin.request('DELETE', paths.nodeDiagnostics('shop', 'flood-node'));
      console.log(
        `      ${figures}; flood ${floodRequests} requests, ${flood429} answered 429; the agent's status writes answered 429: ${agent429} ` +
          `(${String(throttled().at(-1)?.err).slice(0, 160)}); ` +
          `apiserver_flowcontrol_rejected_requests_total{priority_level="crosstalk-agents"} ${apfRejected}`,
      );
      expect(agent429, "the agent's writes throttled").to.be.above(0);
      expect(apfRejected).to.be.at.least(flood429 + agent429);
    });

    it('measures again a NodeDiagnostic deleted under it, which the operator recreates', async function () {
      const before = await nodeDiagnostic();
      await windowAtLeast(2);
      await admin.request('DELETE', paths.nodeDiagnostics('shop', before.metadata.name));
      const recreated = await eventually(
        async () => {
          const nd = await nodeDiagnostic();
          expect(nd.metadata.uid).to.not.equal(before.metadata.uid);
          return nd;
        },
        30_000,
        250,
      );
      const w = await windowAtLeast(2, recreated.metadata.uid);
      expect(lost(w), 'windows lost on the new object').to.equal(0);
      expect(agent.running, 'the agent runs').to.be.true;
      await eventually(async () => {
        const s = (await admin.get(paths.sessions('shop', 'steady'))) as {
          status?: { nodes?: { readyOfTotal: string } };
        };
        expect(s.status?.nodes?.readyOfTotal).to.equal('1/1');
      });
      console.log(`      recreated ${recreated.metadata.name}: windows 1 → ${w.sequence} on the new object, agent up`);
    });

    it('cleans up after a deleted namespace: session, NodeDiagnostics, finalizers; the agent stops measuring', async function () {
      await admin.request('DELETE', paths.sessions('shop', 'steady'));
      await eventually(async () => expect(await agent.metric('crosstalk_agent_probes_attached')).to.equal(0), 30_000);
      await kubectl(cp(), ['create', 'namespace', 'doomed'], { check: true });
      await node.createPod({
        name: 'checkout',
        namespace: 'doomed',
        labels: { app: 'checkout' },
        containers: [{ name: 'app', command: ['sleep', '3600'] }],
      });
      await applySession('doomed', 'doomed');
      await eventually(
        async () => expect((await nodeDiagnostic('doomed', 'doomed-node-a')).status?.window?.sequence).to.be.above(0),
        60_000,
        500,
      );
      expect(await agent.metric('crosstalk_agent_probes_attached')).to.equal(1);
      const deleted = Date.now();
      await admin.request('DELETE', '/api/v1/namespaces/doomed');
      await eventually(
        async () => {
          const gone = await admin.get('/api/v1/namespaces/doomed').then(
            () => false,
            (err: unknown) => err instanceof ApiError && err.status === 404,
          );
          expect(gone, 'namespace gone').to.be.true;
        },
        120_000,
        500,
      );
      const goneS = (Date.now() - deleted) / 1000;
      const left = await kubectl(cp(), ['get', 'nodediagnostics,dsess', '-A', '-o', 'name'], { check: true });
      expect(left.stdout.trim(), 'crosstalk objects left').to.equal('');
      await eventually(async () => expect(await agent.metric('crosstalk_agent_probes_attached')).to.equal(0), 30_000);
      const writes = await agent.metric('crosstalk_agent_status_writes_total');
      await sleep(3 * intervalS * 1000);
      expect(await agent.metric('crosstalk_agent_status_writes_total'), 'writes after the namespace went').to.equal(
        writes,
      );
      expect(agent.running && operator.running).to.be.true;
      console.log(
        `      namespace with a measured session gone in ${goneS.toFixed(1)} s; probes detached; no writes after`,
      );
    });
  });
});
