// The e2e control plane itself: real etcd, kube-apiserver and kube-controller-manager on
// loopback, CRDs installed and served, owner references cascading, namespaces
// finalizing, and nothing left behind after stop().
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { readCgroupMounts, readProcCgroup } from '../../agent/cgroups/mounts.js';
import { placementHierarchies, TestCgroup } from '../../testbed/host/cgroups.js';
import { missingRoot, requireOrSkip } from '../../testbed/host/requirements.js';
import { NodeHarness } from '../../testbed/kubelet/node-harness.js';
import { controlPlaneBinaries, missingControlPlane } from '../../testbed/cluster/binaries.js';
import { crdManifests, startControlPlane } from '../../testbed/cluster/control-plane.js';
import { eventually } from '../../testbed/cluster/eventually.js';
import { kubectl } from '../../testbed/cluster/kubectl.js';
import { portListening, processAlive } from '../../testbed/cluster/liveness.js';
import { useControlPlane } from '../support/mocha.js';

const placeholderCrds = fileURLToPath(new URL('testdata/placeholder-crds.yaml', import.meta.url));
const mainScript = fileURLToPath(new URL('../../testbed/cluster/main.ts', import.meta.url));

describe('e2e control plane', function () {
  // The repository's CRDs get a test of their own below.
  const cp = useControlPlane({ crds: [] });

  it('serves the API with the matching kubectl and no version skew', async function () {
    const version = await kubectl(cp(), ['version', '-o', 'json'], { check: true });
    const parsed = JSON.parse(version.stdout) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    expect(parsed.serverVersion.gitVersion).to.match(/^v1\.3[3-9]\./);
    expect(parsed.clientVersion.gitVersion).to.equal(parsed.serverVersion.gitVersion);
    expect(version.stderr).not.to.match(/skew/i);
    expect(cp().server).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('installs a CRD, waits until it is established and serves its objects', async function () {
    const names = await cp().installCrds([placeholderCrds]);
    expect(names).to.have.members(['diagnosticsessions.crosstalk.dev', 'nodediagnostics.crosstalk.dev']);
    const manifest =
      'apiVersion: crosstalk.dev/v1alpha1\nkind: NodeDiagnostic\nmetadata: {name: nd}\nspec: {nodeName: node-a}\n';
    await kubectl(cp(), ['apply', '-f', '-'], { input: manifest, check: true });
    const got = await kubectl(cp(), ['get', 'nodediagnostics', 'nd', '-o', 'jsonpath={.spec.nodeName}'], {
      check: true,
    });
    expect(got.stdout).to.equal('node-a');
    await kubectl(cp(), ['delete', 'nodediagnostics', 'nd'], { check: true });
  });

  it('garbage-collects dependents when their owner is deleted', async function () {
    await kubectl(cp(), ['create', 'configmap', 'owner'], { check: true });
    const uid = (await kubectl(cp(), ['get', 'configmap', 'owner', '-o', 'jsonpath={.metadata.uid}'], { check: true }))
      .stdout;
    const dependent = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'dependent', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid }] },
    };
    await kubectl(cp(), ['apply', '-f', '-'], { input: JSON.stringify(dependent), check: true });
    await kubectl(cp(), ['delete', 'configmap', 'owner'], { check: true });
    await eventually(async () => {
      const left = await kubectl(cp(), ['get', 'configmap', 'dependent', '--ignore-not-found', '-o', 'name']);
      expect(left.stdout).to.equal('');
    });
  });

  it('finalizes a deleted namespace with its contents', async function () {
    await kubectl(cp(), ['create', 'namespace', 'doomed'], { check: true });
    await kubectl(cp(), ['create', 'configmap', 'inside', '-n', 'doomed'], { check: true });
    await kubectl(cp(), ['delete', 'namespace', 'doomed', '--wait=false'], { check: true });
    await eventually(async () => {
      const left = await kubectl(cp(), ['get', 'namespace', 'doomed', '--ignore-not-found', '-o', 'name']);
      expect(left.stdout).to.equal('');
    });
  });

  it('rejects an identity that cannot be a node name', function () {
    expect(() => cp().kubeconfigPath('agent:Not_A_Node')).to.throw(/RFC 1123/);
  });

  if (crdManifests().length > 0) {
    it('installs the repository CRDs (crds/*.yaml) and serves them', async function () {
      const names = await cp().installCrds();
      expect(names).to.include.members(['diagnosticsessions.crosstalk.dev', 'nodediagnostics.crosstalk.dev']);
      for (const resource of ['diagnosticsessions.crosstalk.dev', 'nodediagnostics.crosstalk.dev']) {
        const listed = await kubectl(cp(), ['get', resource, '-A']);
        expect(listed.code, listed.stderr).to.equal(0);
      }
    });
  }
});

describe('e2e control plane teardown', function () {
  before(function () {
    requireOrSkip(this, missingControlPlane());
    this.timeout(20 * 60_000);
  });

  it('leaves no process, listening port or directory behind', async function () {
    const cp = await startControlPlane({ crds: [] });
    const { components, dir } = cp;
    const ports = Object.values(cp.ports);
    expect(components.map((c) => c.name)).to.deep.equal(['etcd', 'kube-apiserver', 'kube-controller-manager']);
    for (const port of ports) expect(await portListening(port), `port ${port} while running`).to.equal(true);
    await cp.stop();
    for (const { name, pid } of components) expect(processAlive(pid), `${name} (${pid})`).to.equal(false);
    for (const port of ports) expect(await portListening(port), `port ${port} after stop`).to.equal(false);
    expect(existsSync(dir)).to.equal(false);
  });

  it('keeps only the logs when asked to', async function () {
    const cp = await startControlPlane({ crds: [], controllers: [] });
    await cp.stop({ keepLogs: true });
    try {
      expect(existsSync(`${cp.logDir}/kube-apiserver.log`)).to.equal(true);
      expect(existsSync(`${cp.dir}/etcd`)).to.equal(false);
      expect(existsSync(`${cp.dir}/pki`)).to.equal(false);
    } finally {
      rmSync(cp.dir, { recursive: true, force: true });
    }
  });

  it('reaps the control plane and harness processes of a test process that was SIGKILLed', async function () {
    requireOrSkip(this, missingRoot());
    // A stand-in for a test run: the CLI with one harness node, running one pod.
    const orphanage = spawn(
      process.execPath,
      [
        '--no-experimental-strip-types',
        '--import',
        './scripts/register-ts.mjs',
        '--no-deprecation',
        mainScript,
        'up',
        '--no-crds',
        '--node',
        'orphan',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    orphanage.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const admin = await Promise.race([
      once(createInterface({ input: orphanage.stdout }), 'line').then(([line]) => String(line)),
      once(orphanage, 'exit').then(() => Promise.reject(new Error(`main.ts up exited early:\n${stderr}`))),
    ]);
    const dir = dirname(dirname(admin));
    const target = {
      kubectlBinary: (await controlPlaneBinaries()).kubectl,
      kubectlCacheDir: join(dir, 'kubectl-cache'),
      kubeconfigPath: () => admin,
    };
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'left' },
      spec: { nodeName: 'orphan', containers: [{ name: 'main', image: 'any', command: ['sleep', '300'] }] },
    };
    await kubectl(target, ['apply', '-f', '-'], { input: JSON.stringify(pod), check: true });
    const scope = `crosstalk-${orphanage.pid}-orphan`;
    const workload = await eventually(() => {
      const pids = processesUnder(TestCgroup.create(scope, ['unified']).dir());
      expect(pids).to.have.lengthOf(1);
      return pids[0]!;
    });
    const components = readFileSync(join(dir, 'pids'), 'utf8').split('\n').filter(Boolean).map(Number);

    orphanage.kill('SIGKILL');
    await once(orphanage, 'exit');
    // Nothing ran its exit handlers: everything it started is still there.
    for (const pid of [...components, workload]) expect(processAlive(pid), `pid ${pid}`).to.equal(true);

    const cp = await startControlPlane({ crds: [], controllers: [] });
    try {
      for (const pid of components) expect(processAlive(pid), `component ${pid}`).to.equal(false);
      expect(existsSync(dir)).to.equal(false);
      const harness = await NodeHarness.start({ kubeconfig: cp.kubeconfigPath(), nodeName: 'reaper' });
      await harness.close();
      expect(processAlive(workload), 'workload').to.equal(false);
      expect(readdirSync(tmpdir()).filter((e) => e.startsWith('crosstalk-harness-orphan-'))).to.deep.equal([]);
      for (const scopeDir of scopeDirs(scope)) expect(existsSync(scopeDir), scopeDir).to.equal(false);
    } finally {
      await TestCgroup.create(scope).remove();
      await cp.stop();
    }
  });
});

/** Where TestCgroup.create(scope) would put its directories, without creating them. */
function scopeDirs(scope: string): string[] {
  const { mountPoints } = readCgroupMounts();
  const own = readProcCgroup();
  return placementHierarchies().map((h) => join(mountPoints.get(h) ?? '', own.get(h) ?? '/', scope));
}

/** Every process in a cgroup and its descendants. */
function processesUnder(dir: string): number[] {
  const pids = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) pids.push(...processesUnder(join(dir, entry.name)));
  }
  return pids;
}
