import { expect } from 'chai';
import { z } from 'zod';

import { Informer } from '../../../../common/kube/informer.js';
import { apiError, FakeApi } from '../../../support/fake-api.js';
import { FakeClock, settle } from '../../../support/fake-clock.js';
import { quietLog } from '../../../support/quiet-log.js';

const collection = '/api/v1/configmaps';
const relistMs = 60_000;

const configMapSchema = z.object({
  metadata: z.object({ name: z.string(), namespace: z.string() }),
  data: z.object({ v: z.string() }),
});
type ConfigMap = z.output<typeof configMapSchema>;

const configMap = (name: string, v: string, namespace = 'shop') => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace },
  data: { v },
});

describe('Informer', function () {
  let api: FakeApi;
  let clock: FakeClock;
  let seen: string[];
  let relists: string[];
  let informer: Informer<ConfigMap>;

  function start(selectors: { labelSelector?: string; fieldSelector?: string } = {}): void {
    informer = new Informer<ConfigMap>({
      name: 'configmaps',
      client: api.client,
      watch: api.watch,
      path: collection,
      ...selectors,
      parse: (raw) => configMapSchema.parse(raw),
      key: (c) => `${c.metadata.namespace}/${c.metadata.name}`,
      relistMs,
      clock,
      log: quietLog,
      handlers: {
        onChange: (c, old) => seen.push(`change ${c.metadata.name}=${c.data.v}${old ? ` (was ${old.data.v})` : ''}`),
        onDelete: (c) => seen.push(`delete ${c.metadata.name}`),
      },
      onRelist: (name, reason) => relists.push(`${name} ${reason}`),
    });
    informer.start();
  }

  /** When, in the next `ms`, the latest watch was started again (ms from now). */
  async function startsWithin(ms: number): Promise<number[]> {
    const since = clock.now();
    const watcher = api.opened.at(-1)!;
    const at: number[] = [];
    let starts = watcher.starts;
    for (let t = 0; t < ms; t += 100) {
      await clock.elapse(100);
      if (watcher.starts > starts) at.push(clock.now() - since);
      starts = watcher.starts;
    }
    return at;
  }

  beforeEach(function () {
    api = new FakeApi();
    clock = new FakeClock();
    seen = [];
    relists = [];
  });

  afterEach(async function () {
    await informer.stop();
  });

  it('lists through the client with its selectors and is synced once the list is in', async function () {
    api.putQuietly(collection, configMap('a', '1'));
    api.putQuietly(collection, configMap('b', '1', 'web'));
    start({ labelSelector: 'app=shop', fieldSelector: 'metadata.namespace=shop' });
    expect(informer.hasSynced()).to.be.false;
    await settle();
    expect(informer.hasSynced()).to.be.true;
    expect(api.client.requests[0]).to.deep.include({
      method: 'GET',
      path: collection,
      query: { labelSelector: 'app=shop', fieldSelector: 'metadata.namespace=shop' },
    });
    expect(seen).to.deep.equal(['change a=1']);
    expect(informer.get('shop/a')?.data.v).to.equal('1');
    expect(informer.list()).to.have.length(1);
  });

  it('hands on a change only when the resourceVersion moved, and deletions', async function () {
    start();
    await settle();
    api.put(collection, configMap('a', '1'));
    api.opened[0]!.emit('update', api.put(collection, configMap('a', '2'))); // delivered twice
    api.remove(collection, configMap('a', '2'));
    expect(seen).to.deep.equal(['change a=1', 'change a=2 (was 1)', 'delete a']);
    expect(informer.get('shop/a')).to.be.undefined;
  });

  it('skips objects it cannot parse and keeps the others', async function () {
    api.putQuietly(collection, { ...configMap('bad', '1'), data: { v: 7 } });
    api.putQuietly(collection, configMap('good', '1'));
    start();
    await settle();
    api.put(collection, { ...configMap('worse', '1'), data: undefined });
    api.remove(collection, { ...configMap('good', '1'), data: undefined });
    expect(seen).to.deep.equal(['change good=1']);
    expect(informer.list().map((c) => c.metadata.name)).to.deep.equal(['good']);
  });

  it('relists every relistMs: what the watch missed is changed or deleted, the old watch is ignored', async function () {
    api.putQuietly(collection, configMap('kept', '1'));
    api.putQuietly(collection, configMap('changed', '1'));
    api.putQuietly(collection, configMap('gone', '1'));
    start();
    await settle();
    seen = [];
    api.putQuietly(collection, configMap('changed', '2'));
    api.remove(collection, configMap('gone', '1'), true);
    await clock.elapse(relistMs - 1);
    expect(seen, 'not before relistMs').to.deep.equal([]);
    await clock.elapse(1);
    expect(seen).to.have.members(['change changed=2 (was 1)', 'delete gone']);
    expect(api.opened).to.have.length(2);
    expect(api.watchers.has(api.opened[0]!), 'the first watch is stopped').to.be.false;
    api.opened[0]!.emit('add', api.putQuietly(collection, configMap('late', '1')));
    expect(seen).to.have.length(2);
    expect(api.client.requests.filter((r) => r.method === 'GET')).to.have.length(2);
  });

  it('tells onRelist of each relist after the first list: Expired on 410 Gone, Resync every relistMs', async function () {
    start();
    await settle();
    expect(relists).to.deep.equal([]);
    api.opened[0]!.request.expired();
    expect(relists).to.deep.equal(['configmaps Expired']);
    expect(informer.hasSynced(), 'stale until the list is back').to.be.false;
    await api.opened[0]!.request.list();
    expect(informer.hasSynced()).to.be.true;
    await clock.elapse(relistMs);
    expect(relists).to.deep.equal(['configmaps Expired', 'configmaps Resync']);
    api.opened[0]!.request.expired();
    expect(relists, 'a replaced watch is not heard').to.have.length(2);
    api.opened[1]!.request.expired();
    expect(relists.at(-1)).to.equal('configmaps Expired');
  });

  it('restarts a failed watch after a backoff that doubles, until a list succeeds again', async function () {
    start();
    await settle();
    const started = clock.now();
    const restarts: number[] = [];
    for (let i = 0; i < 3; i++) {
      api.breakWatches(collection, new Error('connection reset'));
      restarts.push(...(await startsWithin(5000)));
    }
    expect(restarts).to.deep.equal([1000, 2000, 4000]);
    await clock.elapse(started + relistMs - clock.now(), 1000); // the relist lists again
    expect(api.opened).to.have.length(2);
    api.breakWatches(collection, new Error('connection reset'));
    expect(await startsWithin(5000), 'backoff reset by the successful list').to.deep.equal([1000]);
  });

  it('retries a failed list with backoff and is not synced until one succeeds', async function () {
    api.failNext('GET', collection, apiError(500, 'InternalError', 'GET', collection));
    api.putQuietly(collection, configMap('a', '1'));
    start();
    await settle();
    expect(informer.hasSynced()).to.be.false;
    await clock.elapse(999);
    expect(informer.hasSynced()).to.be.false;
    await clock.elapse(1);
    expect(informer.hasSynced()).to.be.true;
    expect(seen).to.deep.equal(['change a=1']);
  });

  it('stops watching and relisting on stop()', async function () {
    start();
    await settle();
    await informer.stop();
    await settle();
    expect(api.watchers.size).to.equal(0);
    expect(clock.timers, 'the relist timer is cancelled').to.equal(0);
    api.put(collection, configMap('a', '1'));
    await clock.elapse(3 * relistMs, 10_000);
    expect(seen).to.deep.equal([]);
    expect(api.client.requests).to.have.length(1);
  });
});
