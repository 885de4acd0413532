import { expect } from 'chai';
import type { ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { systemClock } from '../../../../common/clock.js';
import { ApiError, KubeClient } from '../../../../common/kube/client.js';
import { fixedCredentials } from '../../../../common/kube/credentials.js';
import { Informer } from '../../../../common/kube/informer.js';
import { ListWatch, WatchError, type KubeList, type KubeObject } from '../../../../common/kube/watch.js';
import { json, status, TestApiServer, type SeenRequest } from '../../../support/https-server.js';
import { quietLog } from '../../../support/quiet-log.js';

const path = '/api/v1/configmaps';
const cm = (name: string, rv: number) => ({
  kind: 'ConfigMap',
  metadata: { name, namespace: 'shop', resourceVersion: String(rv) },
});
const list = (rv: number, ...items: KubeObject[]) => ({
  kind: 'ConfigMapList',
  metadata: { resourceVersion: String(rv) },
  items,
});

type Script = (request: SeenRequest, res: ServerResponse) => void;

/** Answers a watch with these events, then ends it or (`open`) leaves it open. */
function events(lines: unknown[], end: 'end' | 'open' = 'open'): Script {
  return (_request, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' }).flushHeaders();
    for (const line of lines) res.write(typeof line === 'string' ? line : `${JSON.stringify(line)}\n`);
    if (end === 'end') res.end();
  };
}

async function until(what: string, condition: () => boolean, ms = 3000): Promise<void> {
  for (const start = Date.now(); !condition(); await sleep(10))
    if (Date.now() - start > ms) throw new Error(`timed out waiting until ${what}`);
}

describe('ListWatch', function () {
  let dir: string;
  let server: TestApiServer;
  let client: KubeClient;
  /** What the next lists and watches answer, in order; a watch beyond the script stays open. */
  let lists: KubeList[];
  let watches: Script[];
  let seen: string[];
  let errors: unknown[];
  /** Times the watch said the server answered 410 Gone. */
  let expired: number;
  let lw: ListWatch;

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'crosstalk-watch-'));
    server = await TestApiServer.start(join(dir, 'pki'));
    client = new KubeClient({
      server: server.url,
      tls: { ca: Buffer.from(server.serverCa()), rejectUnauthorized: true },
      credentials: fixedCredentials({ authorization: 'Bearer watcher' }),
      namespace: undefined,
    });
  });

  after(async function () {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(function () {
    server.requests.length = 0;
    lists = [];
    watches = [];
    seen = [];
    errors = [];
    expired = 0;
    server.handler = (request, res) => {
      if (request.query.get('watch') === '1') (watches.shift() ?? events([]))(request, res);
      else json(res, 200, lists.shift() ?? list(1));
    };
  });

  afterEach(async function () {
    await lw.stop();
    server.dropConnections();
  });

  function start(selectors: { labelSelector?: string; fieldSelector?: string } = {}): Promise<void> {
    const { labelSelector, fieldSelector } = selectors;
    lw = new ListWatch({
      client,
      path,
      labelSelector,
      fieldSelector,
      list: () => client.get(path, { labelSelector, fieldSelector }) as Promise<KubeList>,
      expired: () => expired++,
    });
    for (const verb of ['add', 'update', 'delete'] as const)
      lw.on(verb, (obj) => seen.push(`${verb} ${obj.metadata?.name}@${obj.metadata?.resourceVersion}`));
    lw.on('error', (err) => errors.push(err));
    return lw.start();
  }

  const watchRequests = () => server.requests.filter((r) => r.query.get('watch') === '1');
  const listRequests = () => server.requests.filter((r) => r.query.get('watch') === null);

  it('lists, then watches from the list with bookmarks, its selectors and a server-side timeout', async function () {
    lists = [list(10, cm('a', 1), cm('b', 2))];
    watches = [
      events([
        { type: 'ADDED', object: cm('c', 11) },
        { type: 'MODIFIED', object: cm('a', 12) },
        { type: 'DELETED', object: cm('b', 13) },
      ]),
    ];
    await start({ labelSelector: 'app=x', fieldSelector: 'metadata.name!=z' });
    expect(watchRequests()).to.have.length(1);
    await until('the events arrived', () => seen.length === 5);
    expect(seen).to.deep.equal(['add a@1', 'add b@2', 'add c@11', 'update a@12', 'delete b@13']);
    expect(Object.fromEntries(listRequests()[0]!.query)).to.deep.equal({
      labelSelector: 'app=x',
      fieldSelector: 'metadata.name!=z',
    });
    const { timeoutSeconds, ...query } = Object.fromEntries(watchRequests()[0]!.query);
    expect(query).to.deep.equal({
      watch: '1',
      allowWatchBookmarks: 'true',
      resourceVersion: '10',
      labelSelector: 'app=x',
      fieldSelector: 'metadata.name!=z',
    });
    expect(Number(timeoutSeconds)).to.be.within(300, 600);
    expect(watchRequests()[0]!.headers.authorization).to.equal('Bearer watcher');
    expect(errors).to.deep.equal([]);
  });

  it('resumes from the last bookmark when the server ends a watch, without listing again', async function () {
    lists = [list(10, cm('a', 1))];
    watches = [
      events(
        [
          { type: 'ADDED', object: cm('c', 11) },
          { type: 'BOOKMARK', object: { metadata: { resourceVersion: '25' } } },
        ],
        'end',
      ),
    ];
    await start();
    await until('the watch was opened again', () => watchRequests().length === 2);
    expect(watchRequests()[1]!.query.get('resourceVersion')).to.equal('25');
    expect(listRequests()).to.have.length(1);
    expect(seen).to.deep.equal(['add a@1', 'add c@11']);
    expect(errors).to.deep.equal([]);
    expect(expired).to.equal(0);
  });

  it('lists again on 410 Gone in the middle of a watch, and reports what changed meanwhile, deletions included', async function () {
    lists = [list(10, cm('a', 1), cm('b', 2), cm('d', 3)), list(20, cm('a', 15), cm('c', 16), cm('d', 3))];
    watches = [
      events([
        { type: 'MODIFIED', object: cm('a', 11) },
        {
          type: 'ERROR',
          object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' },
        },
      ]),
    ];
    await start();
    await until('the watch was opened after the relist', () => watchRequests().length === 2);
    expect(seen).to.deep.equal([
      'add a@1',
      'add b@2',
      'add d@3',
      'update a@11',
      'update a@15',
      'add c@16',
      'delete b@2',
    ]);
    expect(listRequests()).to.have.length(2);
    expect(watchRequests()[1]!.query.get('resourceVersion')).to.equal('20');
    expect(errors).to.deep.equal([]);
    expect(expired, 'told of the 410').to.equal(1);
  });

  it('lists again when the server answers a resumed watch with HTTP 410', async function () {
    lists = [list(10, cm('a', 1)), list(30)];
    watches = [
      events([{ type: 'BOOKMARK', object: { metadata: { resourceVersion: '12' } } }], 'end'),
      (_request, res) => status(res, 410, 'Expired', 'too old resource version: 12'),
    ];
    await start();
    await until('the third watch', () => watchRequests().length === 3);
    expect(watchRequests().map((r) => r.query.get('resourceVersion'))).to.deep.equal(['10', '12', '30']);
    expect(seen).to.deep.equal(['add a@1', 'delete a@1']);
    expect(errors).to.deep.equal([]);
    expect(expired, 'told of the 410').to.equal(1);
  });

  it('reports 410 Gone right after a fresh list as an error instead of listing in a loop', async function () {
    watches = [(_request, res) => status(res, 410, 'Expired', 'too old')];
    await start();
    await until('an error', () => errors.length === 1);
    expect(errors[0]).to.be.instanceOf(ApiError).and.include({ status: 410 });
    await sleep(100);
    expect(listRequests()).to.have.length(1);
    expect(expired, 'a 410 all the same').to.equal(1);
  });

  it('reports any other failure and stops; start() again resumes from where it was', async function () {
    lists = [list(10, cm('a', 1))];
    watches = [
      events([
        { type: 'ADDED', object: cm('c', 11) },
        { type: 'ERROR', object: { kind: 'Status', code: 500, reason: 'InternalError', message: 'etcd is sad' } },
      ]),
    ];
    await start();
    await until('an error', () => errors.length === 1);
    expect(errors[0]).to.be.instanceOf(ApiError).and.include({ status: 500, reason: 'InternalError' });
    expect((errors[0] as Error).message).to.match(/etcd is sad/);
    await sleep(100);
    expect(watchRequests()).to.have.length(1);
    await lw.start();
    expect(watchRequests()).to.have.length(2);
    expect(watchRequests()[1]!.query.get('resourceVersion')).to.equal('11');
    expect(listRequests()).to.have.length(1);
  });

  it('reports a dropped connection as a NetworkError', async function () {
    await start();
    server.dropConnections();
    await until('an error', () => errors.length === 1);
    expect(errors[0]).to.be.instanceOf(ApiError).and.include({ status: 0, code: 'NetworkError' });
  });

  it('reports a line that is not a watch event, and a watch the server ends at once', async function () {
    watches = [events(['{"type": "ADDED", "object": {"metadata": {"name": 5}}}\n'])];
    await start();
    await until('an error', () => errors.length === 1);
    expect(errors[0]).to.be.instanceOf(WatchError).and.include({ code: 'InvalidWatchEvent' });
    watches = [events([], 'end')];
    await lw.start();
    await until('a second error', () => errors.length === 2);
    expect(errors[1]).to.be.instanceOf(WatchError).and.include({ code: 'ShortWatch' });
  });

  it('reads events split across chunks and several in one chunk', async function () {
    const [a, b, c] = [cm('a', 11), cm('b', 12), cm('c', 13)].map((o) => JSON.stringify({ type: 'ADDED', object: o }));
    watches = [
      (_request, res) => {
        res.writeHead(200);
        res.write(`${a}\n${b!.slice(0, 10)}`);
        setTimeout(() => res.write(`${b!.slice(10)}\n\n${c}`), 20);
        setTimeout(() => res.write('\n'), 40);
      },
    ];
    await start();
    await until('three events', () => seen.length === 3);
    expect(seen).to.deep.equal(['add a@11', 'add b@12', 'add c@13']);
  });

  it('stop() ends the open watch and reports nothing', async function () {
    let closed = false;
    watches = [
      (request, res) => {
        res.on('close', () => (closed = true));
        events([])(request, res);
      },
    ];
    await start();
    await lw.stop();
    await until('the server saw the watch end', () => closed);
    await sleep(50);
    expect(errors).to.deep.equal([]);
    expect(watchRequests()).to.have.length(1);
  });
});

describe('Informer on the API server', function () {
  let dir: string;
  let server: TestApiServer;

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'crosstalk-informer-'));
    server = await TestApiServer.start(join(dir, 'pki'));
  });

  after(async function () {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('syncs, follows the watch, and resumes it after the connection drops', async function () {
    let watch = 0;
    server.handler = (request, res) => {
      if (request.query.get('watch') !== '1') return json(res, 200, list(5, cm('a', 1)));
      if (++watch === 1) return events([{ type: 'MODIFIED', object: cm('a', 6) }])(request, res);
      events([{ type: 'ADDED', object: cm('b', 7) }])(request, res);
    };
    const client = new KubeClient({
      server: server.url,
      tls: { ca: Buffer.from(server.serverCa()), rejectUnauthorized: true },
      credentials: fixedCredentials({}),
      namespace: undefined,
    });
    const changes: string[] = [];
    const informer = new Informer<KubeObject>({
      name: 'configmaps',
      client,
      path,
      parse: (raw) => raw as KubeObject,
      key: (o) => o.metadata?.name ?? '',
      relistMs: 600_000,
      clock: systemClock,
      log: quietLog,
      handlers: { onChange: (o) => changes.push(`${o.metadata?.name}@${o.metadata?.resourceVersion}`) },
    });
    informer.start();
    try {
      await until('synced and updated', () => informer.hasSynced() && changes.length === 2);
      server.dropConnections();
      await until('the watch resumed', () => changes.length === 3);
      expect(changes).to.deep.equal(['a@1', 'a@6', 'b@7']);
      const resumed = server.requests.filter((r) => r.query.get('watch') === '1')[1]!;
      expect(resumed.query.get('resourceVersion')).to.equal('6');
    } finally {
      await informer.stop();
      server.dropConnections();
    }
  });
});
