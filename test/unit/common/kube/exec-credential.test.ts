import { expect } from 'chai';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

import { ExecCredentialError, ExecCredentials, type ExecPlugin } from '../../../../common/kube/exec-credential.js';
import { loadConnection } from '../../../../common/kube/kubeconfig.js';
import { FakeClock } from '../../../support/fake-clock.js';

const v1 = 'client.authentication.k8s.io/v1';

/** A credential plugin: counts its runs in `runs` beside it and answers as `argv[2]` says. */
const pluginSource = `#!${process.execPath}
import { appendFileSync } from 'node:fs';
appendFileSync(new URL('runs', import.meta.url), 'run\\n');
const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO);
const [mode, word] = process.argv.slice(2);
const answer = (status, apiVersion = info.apiVersion) =>
  console.log(JSON.stringify({ apiVersion, kind: 'ExecCredential', status }));
const expirationTimestamp = process.env.EXPIRES || undefined;
if (mode === 'token')
  answer({ token: [word, process.env.GREETING, info.apiVersion, info.spec.interactive, info.spec.cluster?.server].join('|'), expirationTimestamp });
else if (mode === 'cert') answer({ clientCertificateData: 'CERT PEM', clientKeyData: 'KEY PEM' });
else if (mode === 'fail') { console.error('you are not logged in'); process.exit(3); }
else if (mode === 'empty') answer({});
else if (mode === 'old') answer({ token: 'x' }, 'client.authentication.k8s.io/v1beta1');
else console.log('not json');
`;

describe('ExecCredentials', function () {
  let dir: string;
  let plugin: string;
  let clock: FakeClock;

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'crosstalk-exec-'));
    mkdirSync(join(dir, 'bin'));
    plugin = join(dir, 'bin', 'plugin.mjs');
    writeFileSync(plugin, pluginSource);
    chmodSync(plugin, 0o755);
    clock = new FakeClock(Date.parse('2026-11-25T12:00:00Z'));
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  const runs = () =>
    readFileSync(join(dir, 'bin', 'runs'), 'utf8')
      .split('\n')
      .filter(Boolean).length;

  function credentials(args: string[], env: Record<string, string> = {}, more: Partial<ExecPlugin> = {}) {
    return new ExecCredentials(
      { apiVersion: v1, command: plugin, args, env, installHint: undefined, cluster: undefined, ...more },
      clock,
    );
  }

  async function failure(promise: Promise<unknown>): Promise<ExecCredentialError> {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ExecCredentialError);
    return err as ExecCredentialError;
  }

  it('runs the command with its args and env and the exec info, and sends the token it prints', async function () {
    const cluster = { server: 'https://10.0.0.1:6443' };
    const creds = credentials(['token', 'hello'], { GREETING: 'hi' }, { cluster });
    expect(await creds.current()).to.deep.equal({
      authorization: `Bearer hello|hi|${v1}|false|https://10.0.0.1:6443`,
    });
  });

  it('keeps a token until its expirationTimestamp, and runs again when it passes or after a 401', async function () {
    const creds = credentials(['token', 'a'], { EXPIRES: '2026-11-25T12:10:00Z' });
    const [first, second] = await Promise.all([creds.current(), creds.current()]);
    expect(second).to.equal(first);
    expect(runs()).to.equal(1);
    clock.advance(9 * 60_000);
    await creds.current();
    expect(runs()).to.equal(1);
    clock.advance(60_000);
    await creds.current();
    expect(runs()).to.equal(2);
    creds.refresh();
    await creds.current();
    expect(runs()).to.equal(3);
  });

  it('keeps a token without expiry until the API server refuses it', async function () {
    const creds = credentials(['token', 'a']);
    await creds.current();
    clock.advance(24 * 3600_000);
    await creds.current();
    expect(runs()).to.equal(1);
    creds.refresh();
    await creds.current();
    expect(runs()).to.equal(2);
  });

  it('takes a client certificate and key from the status', async function () {
    const credential = await credentials(['cert']).current();
    expect(credential.cert?.toString()).to.equal('CERT PEM');
    expect(credential.key?.toString()).to.equal('KEY PEM');
    expect(credential.authorization).to.be.undefined;
  });

  it("reports a failing plugin with its exit status and stderr, and a missing one with the kubeconfig's hint", async function () {
    const failed = await failure(credentials(['fail']).current());
    expect(failed.code).to.equal('ExecFailed');
    expect(failed.message).to.match(/exit 3.*you are not logged in/);
    const missing = credentials([], {}, { command: join(dir, 'absent'), installHint: 'install it with brew' });
    expect((await failure(missing.current())).message).to.match(/was not found: install it with brew/);
  });

  it('refuses output that is not an ExecCredential of the version asked for, or has no credential', async function () {
    const garbage = await failure(credentials(['garbage']).current());
    expect(garbage).to.include({ code: 'InvalidExecCredential' });
    expect((await failure(credentials(['empty']).current())).message).to.match(/neither a token nor/);
    expect((await failure(credentials(['old']).current())).message).to.match(/answered in .*v1beta1/);
    // A failed run caches nothing: the next request runs the plugin again.
    await failure(credentials(['fail']).current());
    expect(runs()).to.equal(4);
  });

  it('is what a kubeconfig exec entry makes, with a relative command resolved against the kubeconfig', async function () {
    const exec = {
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      command: './bin/plugin.mjs',
      args: ['token', 'from-kubeconfig'],
      env: [{ name: 'GREETING', value: 'hey' }],
      provideClusterInfo: true,
    };
    const path = join(dir, 'config');
    writeFileSync(
      path,
      stringify({
        clusters: [{ name: 'c', cluster: { server: 'https://api:6443' } }],
        users: [{ name: 'u', user: { exec } }],
        contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'ctx',
      }),
    );
    const { credentials: creds } = loadConnection({ path, env: {}, home: dir, clock });
    expect(await creds.current()).to.deep.equal({
      authorization: 'Bearer from-kubeconfig|hey|client.authentication.k8s.io/v1beta1|false|https://api:6443',
    });
  });
});
