// The e2e control plane itself: real etcd, kube-apiserver and kube-controller-manager on
// loopback, CRDs installed and served, owner references cascading, namespaces
// finalizing, and nothing left behind after stop().
import { expect } from 'chai';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { requireOrSkip } from '../../test/support/requirements.js';
import { missingControlPlane } from './binaries.js';
import { crdManifests, startControlPlane } from './control-plane.js';
import { eventually } from './eventually.js';
import { kubectl } from './kubectl.js';
import { portListening, processAlive } from './liveness.js';
import { useControlPlane } from './mocha.js';

const placeholderCrds = fileURLToPath(new URL('testdata/placeholder-crds.yaml', import.meta.url));

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
});
