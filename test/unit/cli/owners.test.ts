import { expect } from 'chai';

import { PodIndex } from '../../../agent/kube/pod-index.js';
import type { CgroupEvent } from '../../../agent/probes/index.js';
import { apiConfigured, CgroupOwners, isUnder, ownerText } from '../../../cli/owners.js';

const uid = '0b8e7a52-1f6c-4c3e-9f2a-6d1e2c3b4a59';
const podPath = `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uid.replaceAll('-', '_')}.slice`;
const containerPath = `${podPath}/cri-containerd-${'a'.repeat(64)}.scope`;

function owners(pods = new PodIndex()): CgroupOwners {
  const mounts = {
    mountPoints: new Map([
      ['unified', '/sys/fs/cgroup/unified'],
      ['blkio', '/sys/fs/cgroup/blkio'],
    ] as const),
    unifiedControllers: [],
  };
  const o = new CgroupOwners(
    pods,
    mounts,
    new Map([
      [0, 'unified'],
      [7, 'blkio'],
    ] as const),
  );
  o.registry.add('unified', 10n, containerPath);
  o.registry.add('blkio', 20n, containerPath);
  o.registry.add('unified', 30n, '/system.slice/backup.service');
  return o;
}

const mkdir = (id: bigint, path: string, kind: 'mkdir' | 'rmdir' = 'mkdir'): CgroupEvent => ({
  type: 'cgroup',
  kind,
  time: new Date(0),
  monotonicNs: 0n,
  cgroup: { hierarchyId: 0, id },
  level: path.split('/').length - 1,
  path,
  pathTruncated: false,
});

describe('cli cgroup owners', function () {
  it('names a kubelet cgroup by its pod (name when known, else the pod directory) and others by path', function () {
    const o = owners();
    expect(o.owner({ hierarchyId: 7, id: 20n })).to.deep.equal({ kind: 'Cgroup', path: podPath });
    expect(ownerText(o.owner({ hierarchyId: 7, id: 20n }))).to.equal(`pod:${uid}`);
    expect(o.unknownPods([{ hierarchyId: 0, id: 10n }])).to.deep.equal([uid]);
    o.pods.upsert({ metadata: { uid, namespace: 'shop', name: 'cart' } });
    expect(ownerText(o.owner({ hierarchyId: 7, id: 20n }))).to.equal('shop/cart');
    expect(o.unknownPods()).to.deep.equal([]);
    expect(ownerText(o.owner({ hierarchyId: 0, id: 30n }))).to.equal('/system.slice/backup.service');
    expect(o.path({ hierarchyId: 0, id: 99n })).to.equal('(cgroup id 99)');
  });

  it('follows cgroups made and removed after the scan', function () {
    const o = owners();
    o.observe(mkdir(40n, '/run/short'), 1000);
    expect(o.path({ hierarchyId: 0, id: 40n })).to.equal('/run/short');
    o.observe(mkdir(40n, '/run/short', 'rmdir'), 2000);
    expect(o.path({ hierarchyId: 0, id: 40n }), 'kept for its queued events').to.equal('/run/short');
    o.observe(mkdir(41n, '/run/other'), 70_000);
    expect(o.entry({ hierarchyId: 0, id: 40n }), 'forgotten a minute later').to.equal(undefined);
  });

  it('reads --cgroup paths relative to any mount point', function () {
    const o = owners();
    expect(o.relativePath('/sys/fs/cgroup/blkio/kubepods.slice')).to.equal('/kubepods.slice');
    expect(o.relativePath('/sys/fs/cgroup/unified')).to.equal('/');
    expect(o.relativePath('kubepods.slice/x')).to.equal('/kubepods.slice/x');
    expect(isUnder('/a/b/c', '/a/b')).to.equal(true);
    expect(isUnder('/a/bc', '/a/b')).to.equal(false);
    expect(isUnder('/a/b', '/a/b/')).to.equal(true);
    expect(isUnder('/anything', '/')).to.equal(true);
  });

  it('uses the API only where it is configured', function () {
    const saved = {
      KUBECONFIG: process.env.KUBECONFIG,
      HOME: process.env.HOME,
      SVC: process.env.KUBERNETES_SERVICE_HOST,
    };
    try {
      process.env.KUBECONFIG = '';
      process.env.HOME = '/nonexistent';
      delete process.env.KUBERNETES_SERVICE_HOST;
      expect(apiConfigured(undefined)).to.equal(false);
      expect(apiConfigured('/some/kubeconfig')).to.equal(true);
      process.env.KUBECONFIG = '/x';
      expect(apiConfigured(undefined)).to.equal(true);
    } finally {
      for (const [k, v] of Object.entries({
        KUBECONFIG: saved.KUBECONFIG,
        HOME: saved.HOME,
        KUBERNETES_SERVICE_HOST: saved.SVC,
      }))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
  });
});
