import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CgroupRegistry, parseHierarchyIds } from '../../../../agent/cgroups/registry.js';

const uid = '0a1b2c3d-4e5f-6789-abcd-ef0123456789';
const id = 'ab'.repeat(32);

describe('cgroup registry', function () {
  it('resolves kubelet cgroups and keeps dead ones until forgotten', function () {
    const registry = new CgroupRegistry();
    const entry = registry.add('unified', 42n, `/kubepods/pod${uid}/${id}`);
    expect(entry?.kubelet?.podUid).to.equal(uid);
    registry.add('unified', 7n, '/system.slice/kubelet.service');
    expect(registry.get('unified', 7n)?.kubelet).to.be.undefined;
    registry.markDead('unified', 42n, 1000);
    expect(registry.forgetDead(1000)).to.be.empty;
    expect(registry.forgetDead(1001).map((e) => e.id)).to.deep.equal([42n]);
    expect(registry.get('unified', 42n)).to.be.undefined;
    expect(registry.size).to.equal(1);
  });

  it('keeps ids of different hierarchies apart', function () {
    const registry = new CgroupRegistry();
    registry.add('unified', 5n, '/a');
    registry.add('blkio', 5n, '/b');
    expect(registry.get('unified', 5n)?.path).to.equal('/a');
    expect(registry.get('blkio', 5n)?.path).to.equal('/b');
  });

  it('resolves pods only inside its node scope, but still knows the other cgroups', function () {
    const registry = new CgroupRegistry('crosstalk-1-node-a');
    const other = registry.add('unified', 1n, `/crosstalk-1-node-b/kubepods/pod${uid}`);
    expect(other).to.include({ inScope: false, kubelet: undefined, path: `/crosstalk-1-node-b/kubepods/pod${uid}` });
    const own = registry.add('unified', 2n, `/crosstalk-1-node-a/kubepods/pod${uid}`);
    expect(own.inScope).to.be.true;
    expect(own.kubelet?.podUid).to.equal(uid);
  });

  it('scans a tree and records each directory with its inode as id', function () {
    const root = mkdtempSync(join(tmpdir(), 'crosstalk-registry-'));
    try {
      mkdirSync(join(root, `kubepods/pod${uid}/${id}`), { recursive: true });
      const registry = new CgroupRegistry();
      registry.scan({ mountPoints: new Map([['unified', root]]), unifiedControllers: [] }, ['unified']);
      const ino = statSync(join(root, `kubepods/pod${uid}/${id}`), { bigint: true }).ino;
      expect(registry.get('unified', ino)?.kubelet?.container?.id).to.equal(id);
      expect(registry.size).to.equal(4);
    } finally {
      rmSync(root, { recursive: true });
    }
  });

  it('maps tracepoint hierarchy ids from /proc/cgroups', function () {
    const text = '#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t1\t1\nblkio\t7\t1\t1\nnet_cls\t0\t1\t1\n';
    expect(Object.fromEntries(parseHierarchyIds(text))).to.deep.equal({ 0: 'unified', 1: 'cpu', 7: 'blkio' });
  });
});
