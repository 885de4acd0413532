import { expect } from 'chai';

import type { NodeDiagnosticStatus, SessionSpecInput } from '../../../crds/index.js';
import { paths } from '../../../common/kube/paths.js';
import { fieldManager, SessionController } from '../../../operator/controller.js';
import { OperatorMetrics } from '../../../operator/metrics.js';
import { diagnosticSession, node, nodeDiagnostic, pod } from '../../fixtures/api-objects.js';
import { apiError, FakeApi } from '../../support/fake-api.js';
import { FakeClock, settle } from '../../support/fake-clock.js';
import { quietLog } from '../../support/quiet-log.js';

const statusIntervalMs = 1000;
const checkout: SessionSpecInput = { selector: { matchLabels: { app: 'checkout' } } };

describe('SessionController', function () {
  let api: FakeApi;
  let clock: FakeClock;
  let metrics: OperatorMetrics;
  let controller: SessionController;
  let workers: Promise<void> | undefined;

  function putSession(namespace: string, name: string, spec: SessionSpecInput, finalizer = true) {
    return api.put(paths.sessions(), diagnosticSession(namespace, name, spec, { finalizer }));
  }

  /** The keys waiting in the work queue, taken out of it. */
  async function drain(): Promise<string[]> {
    await settle();
    const keys: string[] = [];
    while (controller.queue.length > 0) {
      const key = (await controller.queue.get())!;
      controller.queue.done(key);
      keys.push(key);
    }
    return keys;
  }

  async function startCaches(): Promise<void> {
    controller.startInformers();
    await settle();
  }

  async function startWorkers(): Promise<void> {
    await startCaches();
    workers = controller.runWorkers();
    await clock.elapse(100);
  }

  const statusWrites = () =>
    api.client.writes().filter((w) => w === `PATCH ${paths.sessions('shop', 'checkout', 'status')}`).length;

  async function reconciles(result: string): Promise<number> {
    return (await metrics.reconciles.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
  }

  /** What the agent on `nodeName` writes once it measures the current spec. */
  function reportFrom(nodeName: string, score: number): void {
    const child = api.get(paths.nodeDiagnostics(), 'shop', `checkout-${nodeName}`)!;
    const t = new Date(clock.now()).toISOString();
    const status: NodeDiagnosticStatus = {
      observedGeneration: child.metadata.generation ?? 0,
      phase: 'Measuring',
      window: { intervalSeconds: 10, sequence: 1, windowsReported: 1, firstStart: t, start: t, end: t },
      probes: [{ name: 'cpu', state: 'Active', lostEvents: 0, mapOverflows: 0 }],
      pods: [{ namespace: 'shop', name: 'checkout-1', uid: 'uid-checkout-1', verdict: 'Low', score }],
    };
    api.put(paths.nodeDiagnostics(), { ...child, status });
  }

  beforeEach(function () {
    api = new FakeApi();
    clock = new FakeClock();
    metrics = new OperatorMetrics();
    controller = new SessionController({
      client: api.client,
      watch: api.watch,
      clock,
      log: quietLog,
      metrics,
      identity: 'operator-0',
      workers: 1,
      resyncMs: 10 * 60_000,
      statusIntervalMs,
    });
    workers = undefined;
  });

  afterEach(async function () {
    await controller.stop();
    await workers;
  });

  describe('handlers enqueue the keys of the sessions an event concerns', function () {
    beforeEach(async function () {
      putSession('shop', 'checkout', checkout);
      putSession('shop', 'cart', { selector: { matchLabels: { app: 'cart' } } });
      putSession('web', 'checkout', checkout);
      putSession('shop', 'ssd', { selector: { matchLabels: { app: 'db' } }, nodeSelector: { disk: 'ssd' } });
      await startCaches();
      expect(await drain(), 'every session once, at start').to.have.members([
        'shop/checkout',
        'shop/cart',
        'web/checkout',
        'shop/ssd',
      ]);
    });

    it('a pod change: the sessions whose selector matches it before or after, in its namespace', async function () {
      const victim = pod('shop', 'checkout-1', { labels: { app: 'checkout' } });
      api.put(paths.pods(), victim);
      expect(await drain()).to.deep.equal(['shop/checkout']);
      api.put(paths.pods(), { ...victim, status: { ...victim.status, podIP: '10.0.0.7' } });
      api.put(paths.pods(), {
        ...victim,
        status: { ...victim.status, podIP: '10.0.0.7', conditions: [{ type: 'Ready', status: 'False' }] },
      });
      expect(await drain(), 'status-only churn').to.deep.equal([]);
      api.put(paths.pods(), { ...victim, status: { phase: 'Succeeded' } });
      expect(await drain(), 'a phase change').to.deep.equal(['shop/checkout']);
      api.put(paths.pods(), { ...victim, metadata: { ...victim.metadata, labels: { app: 'cart' } } });
      expect(await drain(), 'relabelled').to.have.members(['shop/checkout', 'shop/cart']);
      api.remove(paths.pods(), victim);
      expect(await drain(), 'deleted').to.deep.equal(['shop/cart']);
      api.put(paths.pods(), pod('web', 'checkout-9', { labels: { app: 'checkout' } }));
      expect(await drain(), 'another namespace').to.deep.equal(['web/checkout']);
      api.put(paths.pods(), pod('shop', 'unrelated', { labels: { app: 'search' } }));
      expect(await drain()).to.deep.equal([]);
    });

    it('a NodeDiagnostic change: its controlling session', async function () {
      const child = nodeDiagnostic({ namespace: 'shop', name: 'checkout' }, 'node-a', []);
      api.put(paths.nodeDiagnostics(), child);
      expect(await drain()).to.deep.equal(['shop/checkout']);
      api.remove(paths.nodeDiagnostics(), child);
      expect(await drain()).to.deep.equal(['shop/checkout']);
    });

    it("a node's labels: the sessions with a node selector; its status alone: none", async function () {
      const ssd = node('node-a', { disk: 'ssd' });
      api.put(paths.nodes(), ssd);
      expect(await drain()).to.deep.equal(['shop/ssd']);
      api.put(paths.nodes(), { ...ssd, status: { conditions: [{ type: 'Ready', status: 'False' }] } });
      expect(await drain()).to.deep.equal([]);
      api.put(paths.nodes(), node('node-a', { disk: 'hdd' }));
      expect(await drain()).to.deep.equal(['shop/ssd']);
    });

    it('a session change: that session', async function () {
      putSession('shop', 'cart', { selector: { matchLabels: { app: 'cart' } }, interval: '5s' });
      expect(await drain()).to.deep.equal(['shop/cart']);
    });
  });

  it('carries a plan out through the API: finalizer, children, event, status; then finds nothing to do', async function () {
    putSession('shop', 'checkout', checkout, false);
    api.put(paths.pods(), pod('shop', 'checkout-1', { labels: { app: 'checkout' }, node: 'node-a' }));
    api.put(paths.pods(), pod('shop', 'checkout-2', { labels: { app: 'checkout' }, node: 'node-b' }));
    api.put(paths.nodes(), node('node-a'));
    api.put(paths.nodes(), node('node-b'));
    await startCaches();
    await controller.reconcile('shop/checkout');
    expect(api.client.writes()).to.deep.equal([
      `PATCH ${paths.sessions('shop', 'checkout')}`,
      `PATCH ${paths.nodeDiagnostics('shop', 'checkout-node-a')}`,
      `PATCH ${paths.nodeDiagnostics('shop', 'checkout-node-b')}`,
      `POST ${paths.events('shop')}`,
      `PATCH ${paths.sessions('shop', 'checkout', 'status')}`,
    ]);
    const [finalizer, child, , event, status] = api.client.requests.filter((r) => r.method !== 'GET');
    expect(finalizer).to.deep.include({
      contentType: 'application/merge-patch+json',
      body: { metadata: { finalizers: ['crosstalk.dev/node-diagnostics'], resourceVersion: '1' } },
    });
    expect(child).to.deep.include({
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager, force: 'true' },
    });
    expect(child!.body).to.nested.include({
      'metadata.ownerReferences[0].uid': 'uid-shop-checkout',
      'metadata.ownerReferences[0].controller': true,
      'spec.nodeName': 'node-a',
      'spec.targets[0].uid': 'uid-checkout-1',
    });
    expect(event!.body).to.include({ reason: 'SessionStarted', reportingInstance: 'operator-0' });
    expect(status!.body).to.nested.include({ 'status.phase': 'Running', 'status.nodes.readyOfTotal': '0/2' });

    await settle();
    await clock.elapse(statusIntervalMs);
    const before = api.client.writes().length;
    expect(await controller.reconcile('shop/checkout')).to.be.undefined;
    expect(api.client.writes().length, 'an up-to-date session needs no write').to.equal(before);
  });

  it('waits out the status interval after a status write, however often the agents report', async function () {
    putSession('shop', 'checkout', checkout);
    api.put(paths.pods(), pod('shop', 'checkout-1', { labels: { app: 'checkout' } }));
    api.put(paths.nodes(), node('node-a'));
    await startCaches();
    await controller.reconcile('shop/checkout');
    await settle();
    expect(statusWrites()).to.equal(1);

    reportFrom('node-a', 10);
    await settle();
    expect(await controller.reconcile('shop/checkout'), 'requeued for the rest of the interval').to.equal(1000);
    await clock.elapse(400);
    expect(await controller.reconcile('shop/checkout')).to.equal(600);
    expect(statusWrites(), 'no write within the interval').to.equal(1);
    await clock.elapse(600);
    await controller.reconcile('shop/checkout');
    expect(statusWrites()).to.equal(2);
  });

  it('makes one status write per interval out of many agent reports', async function () {
    putSession('shop', 'checkout', checkout);
    api.put(paths.pods(), pod('shop', 'checkout-1', { labels: { app: 'checkout' } }));
    api.put(paths.nodes(), node('node-a'));
    await startWorkers();
    const writes: number[] = [statusWrites()];
    for (let i = 1; i <= 20; i++) {
      reportFrom('node-a', i);
      await clock.elapse(100);
      if (i % 10 === 0) writes.push(statusWrites());
    }
    expect(writes).to.deep.equal([1, 2, 3]);
  });

  it('acts only while leading: keys are dropped without a lease, every session is visited when it comes back', async function () {
    putSession('shop', 'checkout', checkout);
    api.put(paths.nodes(), node('node-a'));
    await startWorkers();
    const settledWrites = api.client.writes().length;
    controller.setLeading(false);
    api.put(paths.pods(), pod('shop', 'checkout-1', { labels: { app: 'checkout' } }));
    await clock.elapse(5000, 100);
    expect(api.client.writes().length, 'writes without the lease').to.equal(settledWrites);
    expect(controller.queue.length, 'the dropped key is not kept').to.equal(0);

    controller.setLeading(true);
    await clock.elapse(1000, 100);
    expect(api.get(paths.nodeDiagnostics(), 'shop', 'checkout-node-a'), 'reconciled on regaining the lease').to.exist;
  });

  it("counts its caches' relists in crosstalk_informer_relists_total, by informer and reason", async function () {
    await startCaches();
    const watch = (path: string) => api.opened.filter((w) => w.request.path === path).at(-1)!;
    // The API server answered 410 Gone: twice to the sessions' watch, once to the pods'.
    watch(paths.sessions()).request.expired();
    watch(paths.pods()).request.expired();
    watch(paths.sessions()).request.expired();
    await clock.elapse(10 * 60_000, 60_000);
    const text = await metrics.registry.metrics();
    expect(text).to.include('crosstalk_informer_relists_total{informer="diagnosticsessions",reason="Expired"} 2');
    expect(text).to.include('crosstalk_informer_relists_total{informer="pods",reason="Expired"} 1');
    expect(text).to.not.include('informer="nodes",reason="Expired"');
    for (const informer of ['diagnosticsessions', 'nodediagnostics', 'pods', 'nodes'])
      expect(text).to.include(`crosstalk_informer_relists_total{informer="${informer}",reason="Resync"} 1`);
  });

  for (const status of [400, 415, 422]) {
    it(`does not retry a reconcile the API refused with ${status}`, async function () {
      putSession('shop', 'checkout', checkout);
      api.put(paths.pods(), pod('shop', 'checkout-1', { labels: { app: 'checkout' } }));
      const child = paths.nodeDiagnostics('shop', 'checkout-node-a');
      api.failNext('PATCH', child, apiError(status, 'Invalid', 'PATCH', child));
      await startWorkers();
      await clock.elapse(60_000, 1000);
      expect(api.client.writes().filter((w) => w === `PATCH ${child}`)).to.have.length(1);
      expect(await reconciles('terminal')).to.equal(1);
      expect(await reconciles('error')).to.equal(0);
    });
  }

  for (const [status, reason] of [
    [409, 'Conflict'],
    [500, 'InternalError'],
    [0, ''],
  ] as const) {
    it(`retries a reconcile that failed with ${status || 'no answer'} ${reason}`, async function () {
      putSession('shop', 'checkout', checkout);
      api.put(paths.pods(), pod('shop', 'checkout-1', { labels: { app: 'checkout' } }));
      const child = paths.nodeDiagnostics('shop', 'checkout-node-a');
      api.failNext('PATCH', child, apiError(status, reason, 'PATCH', child));
      await startWorkers();
      await clock.elapse(1000, 10);
      expect(api.client.writes().filter((w) => w === `PATCH ${child}`)).to.have.length(2);
      expect(api.get(paths.nodeDiagnostics(), 'shop', 'checkout-node-a'), 'applied on the retry').to.exist;
      expect(await reconciles('error')).to.equal(1);
      expect(await reconciles('terminal')).to.equal(0);
    });
  }
});
