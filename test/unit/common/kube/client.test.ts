import { expect } from 'chai';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

import {
  ApiError,
  ContentType,
  isAlreadyExists,
  isNotFound,
  isTerminal,
  KubeClient,
} from '../../../../common/kube/client.js';
import { fixedCredentials } from '../../../../common/kube/credentials.js';
import { TestApiServer, json, status } from '../../../support/https-server.js';

const base64 = (text: string) => Buffer.from(text).toString('base64');

describe('KubeClient', function () {
  let dir: string;
  let server: TestApiServer;
  let seq = 0;

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'crosstalk-client-'));
    server = await TestApiServer.start(join(dir, 'pki'));
  });

  after(async function () {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(function () {
    server.requests.length = 0;
    server.handler = (_request, res) => json(res, 200, { kind: 'Pod' });
  });

  /** A client from a kubeconfig for the test server: its CA, and `user` as the user entry. */
  function client(user: Record<string, unknown>, cluster: Record<string, unknown> = {}, timeoutMs?: number) {
    const path = join(dir, `config-${++seq}`);
    writeFileSync(
      path,
      stringify({
        clusters: [
          {
            name: 'test',
            cluster: { server: server.url, 'certificate-authority-data': base64(server.serverCa()), ...cluster },
          },
        ],
        users: [{ name: 'u', user }],
        contexts: [{ name: 'ctx', context: { cluster: 'test', user: 'u' } }],
        'current-context': 'ctx',
      }),
    );
    const loaded = KubeClient.load(path);
    return timeoutMs === undefined ? loaded : new KubeClient(loaded.connection, timeoutMs);
  }

  async function refusal(promise: Promise<unknown>): Promise<ApiError> {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ApiError);
    return err as ApiError;
  }

  describe('authentication', function () {
    it('presents the client certificate of the kubeconfig', async function () {
      const { cert, key } = server.clientCertificate('agent-a');
      await client({ 'client-certificate-data': base64(cert), 'client-key-data': base64(key) }).get('/api/v1/pods');
      expect(server.requests[0]).to.include({ clientName: 'agent-a', method: 'GET', path: '/api/v1/pods' });
      expect(server.requests[0]!.headers.authorization).to.be.undefined;
    });

    it('sends a bearer token, or basic auth, and no certificate', async function () {
      await client({ token: 's3cret' }).get('/api/v1/pods');
      await client({ username: 'ann', password: 'pw' }).get('/api/v1/pods');
      expect(server.requests.map((r) => [r.headers.authorization, r.clientName])).to.deep.equal([
        ['Bearer s3cret', undefined],
        [`Basic ${base64('ann:pw')}`, undefined],
      ]);
    });

    it('presents the certificate an exec plugin prints, and runs the plugin again after a 401', async function () {
      const { cert, key } = server.clientCertificate('from-plugin');
      const apiVersion = 'client.authentication.k8s.io/v1';
      const credential = {
        apiVersion,
        kind: 'ExecCredential',
        status: { clientCertificateData: cert, clientKeyData: key },
      };
      const plugin = join(dir, 'cert-plugin.mjs');
      const runs = join(dir, 'cert-plugin-runs');
      writeFileSync(
        plugin,
        `#!${process.execPath}\nimport { appendFileSync } from 'node:fs';\nappendFileSync(${JSON.stringify(runs)}, 'x');\n` +
          `console.log(${JSON.stringify(JSON.stringify(credential))});\n`,
      );
      chmodSync(plugin, 0o755);
      const c = client({ exec: { apiVersion, command: plugin } });
      server.handler = (_request, res) => status(res, 401, 'Unauthorized', 'expired');
      expect(await refusal(c.get('/api/v1/pods'))).to.include({ status: 401, code: 'Unauthorized' });
      server.handler = (_request, res) => json(res, 200, {});
      await c.get('/api/v1/pods');
      await c.get('/api/v1/pods');
      expect(server.requests.map((r) => r.clientName)).to.deep.equal(['from-plugin', 'from-plugin', 'from-plugin']);
      expect(readFileSync(runs, 'utf8')).to.equal('xx');
    });
  });

  describe('TLS', function () {
    it('refuses a server its CA did not sign, unless told to skip verification', async function () {
      const untrusted = await refusal(client({}, { 'certificate-authority-data': undefined }).get('/x'));
      expect(untrusted).to.include({ status: 0, code: 'NetworkError' });
      expect(untrusted.message).to.match(/certificate/);
      await client({}, { 'certificate-authority-data': undefined, 'insecure-skip-tls-verify': true }).get('/x');
      expect(server.requests).to.have.length(1);
    });

    it('checks the certificate against tls-server-name instead of the URL host', async function () {
      await client({}, { 'tls-server-name': 'localhost' }).get('/x');
      const wrong = await refusal(client({}, { 'tls-server-name': 'api.example' }).get('/x'));
      expect(wrong.message).to.match(/api\.example/);
    });

    it('speaks plain HTTP to an http:// server', async function () {
      const plain = createHttpServer((req, res) => json(res, 200, { path: req.url, auth: req.headers.authorization }));
      await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
      const { port } = plain.address() as AddressInfo;
      try {
        const c = new KubeClient({
          server: `http://127.0.0.1:${port}`,
          tls: { rejectUnauthorized: true },
          credentials: fixedCredentials({ authorization: 'Bearer plain' }),
          namespace: undefined,
        });
        expect(await c.get('/version')).to.deep.equal({ path: '/version', auth: 'Bearer plain' });
      } finally {
        plain.closeAllConnections();
        plain.close();
      }
    });

    it('keeps the connection alive between requests', async function () {
      const c = client({ token: 't' });
      const before = server.connections;
      await c.get('/a');
      await c.get('/b');
      await c.create('/c', {});
      expect(server.connections - before).to.equal(1);
    });
  });

  describe('requests', function () {
    it('sends JSON bodies with their content type and query, and returns the JSON answer', async function () {
      const c = client({ token: 't' });
      server.handler = (request, res) => json(res, 201, { echoed: JSON.parse(request.body) as unknown });
      expect(await c.create('/api/v1/namespaces/shop/pods', { kind: 'Pod' })).to.deep.equal({
        echoed: { kind: 'Pod' },
      });
      await c.apply('/apis/crosstalk.dev/v1alpha1/x', { a: 1 }, 'crosstalk-agent');
      await c.patch('/p', [{ op: 'remove', path: '/a' }], ContentType.jsonPatch);
      await c.delete('/d', { uid: 'u-1' });
      const [create, apply, patch, del] = server.requests;
      expect(create!.headers['content-type']).to.equal('application/json');
      expect(apply).to.include({ method: 'PATCH' });
      expect(apply!.headers['content-type']).to.equal(ContentType.apply);
      expect(Object.fromEntries(apply!.query)).to.deep.equal({ fieldManager: 'crosstalk-agent', force: 'true' });
      expect(patch!.headers['content-type']).to.equal(ContentType.jsonPatch);
      expect([...patch!.query]).to.deep.equal([]);
      expect(JSON.parse(del!.body)).to.deep.include({ propagationPolicy: 'Background', preconditions: { uid: 'u-1' } });
    });

    it('answers undefined to an empty body', async function () {
      server.handler = (_request, res) => res.writeHead(200).end();
      expect(await client({}).get('/x')).to.be.undefined;
    });

    it("turns refusals into ApiErrors with the Status's reason and message", async function () {
      const c = client({ token: 't' });
      const answer = (code: number, reason: string) => {
        server.handler = (_request, res) => status(res, code, reason, `${reason} because of the test`);
      };
      answer(404, 'NotFound');
      const notFound = await refusal(c.get('/api/v1/namespaces/shop/pods/x'));
      expect(notFound).to.include({ status: 404, reason: 'NotFound', code: 'NotFound', method: 'GET' });
      expect(notFound.path).to.equal('/api/v1/namespaces/shop/pods/x');
      expect(notFound.message).to.match(/NotFound because of the test/);
      expect(isNotFound(notFound)).to.be.true;
      answer(409, 'AlreadyExists');
      const exists = await refusal(c.create('/api/v1/pods', {}));
      expect(isAlreadyExists(exists)).to.be.true;
      expect(isTerminal(exists)).to.be.false;
      answer(422, 'Invalid');
      const invalid = await refusal(c.replace('/api/v1/pods/x', {}));
      expect(invalid).to.include({ status: 422, code: 'Invalid', method: 'PUT' });
      expect(isTerminal(invalid)).to.be.true;
    });

    it('keeps the text of an answer that is not a Status', async function () {
      server.handler = (_request, res) => res.writeHead(502).end('upstream went away');
      const err = await refusal(client({}).get('/x'));
      expect(err).to.include({ status: 502, reason: '', code: 'HTTP502' });
      expect(err.message).to.match(/upstream went away/);
    });
  });

  describe('failures without an answer', function () {
    it('is a NetworkError when nothing listens', async function () {
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const { port } = probe.address() as { port: number };
      await new Promise((resolve) => probe.close(resolve));
      const err = await refusal(client({}, { server: `https://127.0.0.1:${port}` }).get('/x'));
      expect(err).to.include({ status: 0, code: 'NetworkError' });
      expect(err.message).to.match(/ECONNREFUSED/);
    });

    it('gives up after its timeout', async function () {
      server.handler = () => {};
      const err = await refusal(client({}, {}, 200).get('/slow'));
      expect(err).to.include({ status: 0, code: 'NetworkError' });
      expect(err.message).to.match(/no answer within 200 ms/);
    });

    it('stops when its signal aborts, also in the middle of the body', async function () {
      const c = client({});
      server.handler = () => {};
      const controller = new AbortController();
      const pending = c.request('GET', '/x', { signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      expect((await refusal(pending)).message).to.match(/aborted/);
      server.handler = (_request, res) => res.writeHead(200).write('{"items": [');
      const midBody = new AbortController();
      const partial = c.request('GET', '/y', { signal: midBody.signal });
      setTimeout(() => midBody.abort(), 100);
      expect((await refusal(partial)).message).to.match(/aborted/);
      const already = await refusal(c.request('GET', '/z', { signal: AbortSignal.abort() }));
      expect(already.message).to.match(/aborted/);
    });

    it('is a NetworkError when the connection drops in the middle of the body', async function () {
      server.handler = (_request, res) => {
        res.writeHead(200).write('{"items": [');
        setTimeout(() => server.dropConnections(), 50);
      };
      const err = await refusal(client({}).get('/x'));
      expect(err).to.include({ status: 0, code: 'NetworkError' });
    });
  });
});
