// Watches expire (issue 22): the operator resumes its watches from a resourceVersion the
// API server no longer serves, gets 410 Gone, lists again and ends up right.
//
// What makes kube-apiserver 1.34 (watch cache on, the default) answer 410 to a resumed
// watch, found by experiment: neither churn nor etcd compaction. After 300 writes and a
// compaction of etcd past a resourceVersion, a watch from it still got its 300 events: the
// watch cache serves them from memory, and keeps at least 75 s of history (growing to up
// to 100k events to do so). It answers 410 - HTTP 200, then one ERROR event `410 Expired:
// too old resource version: R (L)` - to a watch from R older than L, the revision at which
// its cache listed etcd: when the API server started, or when a CRD's storage was rebuilt
// (a spec change; a label change is not enough). So a client that was away while the API
// server restarted, with etcd written to meanwhile, resumes into a 410; as does one that
// a load balancer moves to an API server started after its last event.
//
// The scenario: the operator is frozen (SIGSTOP) while kube-apiserver restarts, etcd being
// written to and compacted in between (the compaction is not what causes the 410, but
// nothing then holds the operator's resourceVersion any more). Then, still frozen, one
// session is deleted for good and another created: with every watch cut by the restart,
// it hears of neither but through its relist.
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';

import { isNotFound, ContentType, KubeClient } from '../../common/kube/client.js';
import { paths } from '../../common/kube/paths.js';
import { eventually } from '../../testbed/cluster/eventually.js';
import { OperatorProcess } from '../../testbed/components/operator-process.js';
import { useControlPlane } from '../support/mocha.js';

const namespace = 'expiry';

interface Session {
  metadata: { uid: string; finalizers?: string[] };
  status?: { phase?: string };
}

interface NodeDiagnostic {
  metadata: { name: string; ownerReferences?: { uid: string }[] };
  spec: { nodeName: string };
}

describe('a watch resumed from an expired resourceVersion (e2e)', function () {
  this.timeout(120_000);
  const cp = useControlPlane();

  describe('with an operator frozen across an API server restart', function () {
    let admin: KubeClient;
    let operator: OperatorProcess;
    let frozen = false;

    before(async function () {
      admin = KubeClient.load(cp().kubeconfigPath('admin'));
      await admin.create('/api/v1/namespaces', { metadata: { name: namespace } });
      // Two API-only nodes and a pod bound to each: targets as the operator sees them.
      for (const [node, pod, app] of [
        ['expiry-node-a', 'checkout-1', 'checkout'],
        ['expiry-node-b', 'cart-1', 'cart'],
      ] as const) {
        await admin.create('/api/v1/nodes', { metadata: { name: node } });
        await admin.create(`/api/v1/namespaces/${namespace}/pods`, {
          metadata: { name: pod, namespace, labels: { app } },
          spec: { nodeName: node, containers: [{ name: 'main', image: 'none' }] },
        });
      }
      // No resync during the test: every relist it sees is one the API server asked for.
      operator = await OperatorProcess.start(cp(), 'expiry', ['--no-leader-elect', '--resync', '10m']);
    });

    after(async function () {
      if (frozen) signal('SIGCONT');
      if (operator?.running) await operator.stop();
    });

    function signal(name: 'SIGSTOP' | 'SIGCONT'): void {
      process.kill(-operator.component.pid, name);
      frozen = name === 'SIGSTOP';
    }

    function createSession(name: string, app: string): Promise<unknown> {
      return admin.create(paths.sessions(namespace), {
        apiVersion: 'crosstalk.dev/v1alpha1',
        kind: 'DiagnosticSession',
        metadata: { name, namespace },
        spec: { selector: { matchLabels: { app } } },
      });
    }

    const session = async (name: string) => (await admin.get(paths.sessions(namespace, name))) as Session;
    const nodeDiagnostics = async () =>
      ((await admin.get(paths.nodeDiagnostics(namespace))) as { items: NodeDiagnostic[] }).items;

    async function gone(path: string): Promise<void> {
      try {
        await admin.get(path);
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      throw new Error(`${path} still exists`);
    }

    /** POSTs JSON to etcd's gRPC gateway (plain HTTP on loopback). */
    async function etcd(path: string, body: unknown): Promise<{ header: { revision: string } }> {
      const response = await fetch(`http://127.0.0.1:${cp().ports.etcdClient}${path}`, {
        method: 'POST',
        body: JSON.stringify(body),
      });
      expect(response.status, `etcd ${path}`).to.equal(200);
      return (await response.json()) as { header: { revision: string } };
    }

    /** Running, with its one NodeDiagnostic on `node`, owned by it. */
    async function reconciled(name: string, node: string): Promise<void> {
      const s = await session(name);
      expect(s.status?.phase, `${name}'s phase`).to.equal('Running');
      expect(s.metadata.finalizers ?? []).to.include('crosstalk.dev/node-diagnostics');
      const owned = (await nodeDiagnostics()).filter((nd) => nd.metadata.ownerReferences?.[0]?.uid === s.metadata.uid);
      expect(owned.map((nd) => nd.spec.nodeName)).to.deep.equal([node]);
    }

    const reconciles = () => operator.metric('crosstalk_operator_reconciles_total');
    const expired = (informer: string) =>
      operator.metric('crosstalk_informer_relists_total', `informer="${informer}",reason="Expired"`);

    it('gets 410 Gone, relists, forgets the session deleted meanwhile and reconciles the new one, without looping', async function () {
      const started = Date.now();
      await createSession('old', 'checkout');
      await eventually(() => reconciled('old', 'expiry-node-a'));
      expect(await expired('diagnosticsessions')).to.equal(0);
      const oldChild = paths.nodeDiagnostics(namespace, 'old-expiry-node-a');

      // What it counts stays put while it is frozen (nor could it answer).
      const before = {
        reconciles: await reconciles(),
        errors: await operator.metric('crosstalk_operator_reconcile_errors_total'),
      };
      signal('SIGSTOP');
      await cp().stopApiserver();
      // Written to etcd while no API server runs: no watch, no bookmark can carry this
      // revision to the operator, and the restarted API server's caches begin after it.
      const { header } = await etcd('/v3/kv/put', {
        key: Buffer.from('/crosstalk-e2e/expiry').toString('base64'),
        value: Buffer.from('x').toString('base64'),
      });
      await etcd('/v3/kv/compaction', { revision: header.revision, physical: true });
      await cp().restoreApiserver();
      // A session gone for good (its finalizer taken off by hand, the garbage collector
      // deletes its NodeDiagnostic), and a new one.
      await admin.delete(paths.sessions(namespace, 'old'));
      await admin.patch(paths.sessions(namespace, 'old'), { metadata: { finalizers: null } }, ContentType.mergePatch);
      await eventually(() => gone(paths.sessions(namespace, 'old')));
      await eventually(() => gone(oldChild));
      await createSession('new', 'cart');
      const logged = operator.log().length;
      signal('SIGCONT');
      const resumed = Date.now();

      await eventually(async () =>
        expect(await expired('diagnosticsessions'), '410s to the sessions watch').to.equal(1),
      );
      await eventually(() => reconciled('new', 'expiry-node-b'));
      const reconciledIn = Date.now() - resumed;
      // A pod the deleted session would select: an operator that still cached it would
      // reconcile it now and write its NodeDiagnostic again.
      await admin.create(`/api/v1/namespaces/${namespace}/pods`, {
        metadata: { name: 'checkout-2', namespace, labels: { app: 'checkout' } },
        spec: { nodeName: 'expiry-node-a', containers: [{ name: 'main', image: 'none' }] },
      });
      // Settled: no reconcile over 2 s (a hot loop makes hundreds).
      const settled = await eventually(
        async () => {
          const count = await reconciles();
          await sleep(2000);
          expect(await reconciles(), 'reconciles still going').to.equal(count);
          return count;
        },
        20_000,
        0,
      );

      const after = operator.log().slice(logged);
      expect(
        after.filter((l) => l.msg.startsWith('watch expired') && l.informer === 'diagnosticsessions'),
        'logged',
      ).to.have.length(1);
      const aboutOld = after.filter((l) => (l.session as { name?: string } | undefined)?.name === 'old');
      expect(aboutOld, 'writes or failures for the deleted session').to.deep.equal([]);
      await gone(oldChild);
      expect((await nodeDiagnostics()).map((nd) => nd.metadata.name)).to.deep.equal(['new-expiry-node-b']);
      expect(await operator.metric('crosstalk_operator_reconcile_errors_total')).to.equal(before.errors);
      expect(settled - before.reconciles, 'reconciles after the resume').to.be.at.most(10);
      expect(operator.running).to.be.true;
      const relists = await Promise.all(['nodediagnostics', 'pods', 'nodes'].map(expired));
      console.log(
        `      410 Gone: sessions 1, nodediagnostics ${relists[0]}, pods ${relists[1]}, nodes ${relists[2]}; ` +
          `new session reconciled ${reconciledIn} ms after SIGCONT with ${settled - before.reconciles} reconciles; ` +
          `test ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    });
  });
});
