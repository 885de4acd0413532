import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

import { basicAuthorization, TokenFile, tokenFileMaxAgeMs } from '../../../../common/kube/credentials.js';
import { KubeConfigError, loadConnection, type Connection } from '../../../../common/kube/kubeconfig.js';
import { FakeClock } from '../../../support/fake-clock.js';

const pem = (what: string) => `-----BEGIN ${what}-----\nMIIB${what}\n-----END ${what}-----\n`;
const base64 = (text: string) => Buffer.from(text).toString('base64');

/** A kubeconfig of one context, `user` and `cluster` merged into its entries. */
function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown> = {}, namespace?: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: 'https://10.0.0.1:6443/', ...cluster } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', ...(namespace ? { namespace } : {}) } }],
    'current-context': 'ctx',
  });
}

function expectConfigError(fn: () => unknown, code: string, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).to.be.instanceOf(KubeConfigError);
  expect(caught).to.include({ code });
  expect((caught as Error).message).to.match(message);
}

describe('loadConnection', function () {
  let dir: string;
  let clock: FakeClock;

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'crosstalk-kubeconfig-'));
    clock = new FakeClock();
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, text: string): string {
    const path = join(dir, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
    return path;
  }

  const load = (path: string): Connection => loadConnection({ path, env: {}, home: dir, clock });

  describe('where it looks', function () {
    const config = (server: string) => kubeconfig({ server });

    it('reads the file it is given before $KUBECONFIG and ~/.kube/config', function () {
      const given = write('given', config('https://given:1'));
      write('env', config('https://env:1'));
      write('.kube/config', config('https://home:1'));
      const env = { KUBECONFIG: join(dir, 'env') };
      expect(loadConnection({ path: given, env, home: dir }).server).to.equal('https://given:1');
    });

    it('reads the first file of $KUBECONFIG, then ~/.kube/config', function () {
      write('env-a', config('https://a:1'));
      write('env-b', config('https://b:1'));
      write('.kube/config', config('https://home:1'));
      const KUBECONFIG = `:${join(dir, 'env-a')}:${join(dir, 'env-b')}`;
      expect(loadConnection({ env: { KUBECONFIG }, home: dir }).server).to.equal('https://a:1');
      expect(loadConnection({ env: {}, home: dir }).server).to.equal('https://home:1');
    });

    it("uses the pod's service account when no kubeconfig exists, with its namespace", function () {
      const sa = join(dir, 'sa');
      write('sa/ca.crt', pem('CERTIFICATE'));
      write('sa/token', 'token-1\n');
      write('sa/namespace', 'crosstalk-system');
      const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
      const connection = loadConnection({ env, home: dir, serviceAccountDir: sa, clock });
      expect(connection.server).to.equal('https://10.96.0.1:443');
      expect(connection.tls).to.deep.equal({ ca: Buffer.from(pem('CERTIFICATE')), rejectUnauthorized: true });
      expect(connection.namespace).to.equal('crosstalk-system');
      const ipv6 = { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' };
      expect(loadConnection({ env: ipv6, home: dir, serviceAccountDir: sa }).server).to.equal('https://[fd00::1]:443');
    });

    it('reads the rotating service-account token again once it is a minute old', async function () {
      const sa = join(dir, 'sa');
      write('sa/ca.crt', pem('CERTIFICATE'));
      write('sa/token', 'token-1\n');
      const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
      const { credentials } = loadConnection({ env, home: dir, serviceAccountDir: sa, clock });
      write('sa/token', 'token-2\n');
      clock.advance(tokenFileMaxAgeMs - 1);
      expect(await credentials.current()).to.deep.equal({ authorization: 'Bearer token-1' });
      clock.advance(1);
      expect(await credentials.current()).to.deep.equal({ authorization: 'Bearer token-2' });
    });

    it('says what to do when there is no cluster at all', function () {
      expectConfigError(() => loadConnection({ env: {}, home: dir }), 'NoCluster', /--kubeconfig.*KUBECONFIG.*pod/);
    });

    it('fails on a missing service-account token rather than calling anonymously', function () {
      write('sa/ca.crt', pem('CERTIFICATE'));
      const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
      expectConfigError(
        () => loadConnection({ env, home: dir, serviceAccountDir: join(dir, 'sa') }),
        'InvalidKubeconfig',
        /service account token/,
      );
    });
  });

  describe('the cluster', function () {
    it('takes the server without its trailing slash, and the context namespace', function () {
      const connection = load(write('config', kubeconfig({}, {}, 'shop')));
      expect(connection.server).to.equal('https://10.0.0.1:6443');
      expect(connection.namespace).to.equal('shop');
      expect(connection.tls).to.deep.equal({ rejectUnauthorized: true });
    });

    it('reads the CA from certificate-authority-data, or from a file relative to the kubeconfig', function () {
      const fromData = load(write('a', kubeconfig({ 'certificate-authority-data': base64(pem('DATA CA')) })));
      expect(fromData.tls.ca?.toString()).to.equal(pem('DATA CA'));
      write('sub/pki/ca.crt', pem('FILE CA'));
      const fromFile = load(write('sub/config', kubeconfig({ 'certificate-authority': 'pki/ca.crt' })));
      expect(fromFile.tls.ca?.toString()).to.equal(pem('FILE CA'));
    });

    it('takes tls-server-name and insecure-skip-tls-verify', function () {
      const path = write('config', kubeconfig({ 'tls-server-name': 'api.example', 'insecure-skip-tls-verify': true }));
      expect(load(path).tls).to.deep.equal({ servername: 'api.example', rejectUnauthorized: false });
    });

    it('names a CA file it cannot read', function () {
      const path = write('config', kubeconfig({ 'certificate-authority': 'missing.crt' }));
      expectConfigError(() => load(path), 'InvalidKubeconfig', /certificate-authority .*missing\.crt/);
    });

    it('refuses a proxy-url rather than ignoring it', function () {
      const path = write('config', kubeconfig({ 'proxy-url': 'http://proxy:3128' }));
      expectConfigError(() => load(path), 'Unsupported', /proxy-url/);
    });
  });

  describe('the user', function () {
    it('takes a client certificate and key from their -data fields or from relative files', async function () {
      const data = { 'client-certificate-data': base64(pem('CERT')), 'client-key-data': base64(pem('KEY')) };
      const fromData = await load(write('a', kubeconfig({}, data))).credentials.current();
      expect(fromData.cert?.toString()).to.equal(pem('CERT'));
      expect(fromData.key?.toString()).to.equal(pem('KEY'));
      expect(fromData.authorization).to.be.undefined;
      write('sub/u.crt', pem('FILE CERT'));
      write('sub/u.key', pem('FILE KEY'));
      const files = { 'client-certificate': 'u.crt', 'client-key': 'u.key', token: 'both' };
      const fromFiles = await load(write('sub/config', kubeconfig({}, files))).credentials.current();
      expect(fromFiles.cert?.toString()).to.equal(pem('FILE CERT'));
      expect(fromFiles.key?.toString()).to.equal(pem('FILE KEY'));
      expect(fromFiles.authorization).to.equal('Bearer both');
    });

    it('refuses a certificate without its key', function () {
      const path = write('config', kubeconfig({}, { 'client-certificate-data': base64(pem('CERT')) }));
      expectConfigError(() => load(path), 'InvalidKubeconfig', /both its certificate and key/);
    });

    it('takes a token, a basic-auth pair, or nothing (anonymous)', async function () {
      expect(await load(write('a', kubeconfig({}, { token: 't0k' }))).credentials.current()).to.deep.equal({
        authorization: 'Bearer t0k',
      });
      const basic = await load(write('b', kubeconfig({}, { username: 'ann', password: 'pw:1' }))).credentials.current();
      expect(basic.authorization).to.equal(basicAuthorization('ann', 'pw:1'));
      expect(Buffer.from(basic.authorization!.slice('Basic '.length), 'base64').toString()).to.equal('ann:pw:1');
      expect(await load(write('c', kubeconfig({}))).credentials.current()).to.deep.equal({});
    });

    it('reads a tokenFile relative to the kubeconfig, again once a minute and after a 401', async function () {
      write('sub/token', 'first\n');
      const { credentials } = load(write('sub/config', kubeconfig({}, { tokenFile: 'token' })));
      write('sub/token', 'second\n');
      expect(await credentials.current()).to.deep.equal({ authorization: 'Bearer first' });
      credentials.refresh();
      expect(await credentials.current()).to.deep.equal({ authorization: 'Bearer second' });
      write('sub/token', 'third\n');
      clock.advance(tokenFileMaxAgeMs / 2);
      expect(await credentials.current()).to.deep.equal({ authorization: 'Bearer second' });
      clock.advance(tokenFileMaxAgeMs / 2);
      expect(await credentials.current()).to.deep.equal({ authorization: 'Bearer third' });
    });

    it('keeps the last token while the token file is missing or empty', async function () {
      const path = write('token', 'kept\n');
      const file = new TokenFile(path, clock);
      rmSync(path);
      clock.advance(tokenFileMaxAgeMs);
      expect(await file.current()).to.deep.equal({ authorization: 'Bearer kept' });
      write('token', '');
      clock.advance(tokenFileMaxAgeMs);
      expect(await file.current()).to.deep.equal({ authorization: 'Bearer kept' });
    });

    it('refuses auth-provider plugins, pointing to exec plugins', function () {
      const path = write('config', kubeconfig({}, { 'auth-provider': { name: 'gcp', config: {} } }));
      expectConfigError(() => load(path), 'Unsupported', /auth-provider.*exec credential plugin/);
    });

    it('refuses impersonation rather than acting as the wrong user', function () {
      const path = write('config', kubeconfig({}, { token: 't', as: 'system:admin' }));
      expectConfigError(() => load(path), 'Unsupported', /impersonation/);
    });

    it('refuses exec plugins of retired API versions', function () {
      const exec = { apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'x' };
      const path = write('config', kubeconfig({}, { exec }));
      expectConfigError(() => load(path), 'InvalidKubeconfig', /apiVersion/);
    });
  });

  describe('a broken file', function () {
    it('names what is missing: the current context, its cluster, its user', function () {
      const base = { clusters: [{ name: 'c', cluster: { server: 'https://x' } }], users: [] };
      const context = (cluster: string, user: string) => ({ contexts: [{ name: 'ctx', context: { cluster, user } }] });
      expectConfigError(() => load(write('a', stringify(base))), 'NoCluster', /no current-context/);
      const noContext = { ...base, 'current-context': 'other', ...context('c', '') };
      expectConfigError(() => load(write('b', stringify(noContext))), 'NoCluster', /context "other"/);
      const noCluster = { ...base, 'current-context': 'ctx', ...context('gone', '') };
      expectConfigError(() => load(write('c', stringify(noCluster))), 'NoCluster', /cluster "gone"/);
      const noUser = { ...base, 'current-context': 'ctx', ...context('c', 'who') };
      expectConfigError(() => load(write('d', stringify(noUser))), 'NoCluster', /user "who"/);
    });

    it('reports YAML and schema errors with the file name', function () {
      expectConfigError(() => load(write('bad-yaml', 'clusters: [\n')), 'InvalidKubeconfig', /bad-yaml/);
      const wrongType = stringify({ 'current-context': 'ctx', clusters: [{ name: 'c', cluster: { server: 42 } }] });
      expectConfigError(() => load(write('bad-schema', wrongType)), 'InvalidKubeconfig', /bad-schema.*server/);
      expectConfigError(() => load(join(dir, 'absent')), 'InvalidKubeconfig', /cannot read the kubeconfig/);
    });
  });
});
