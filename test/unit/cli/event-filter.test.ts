import { expect } from 'chai';

import { PodIndex } from '../../../agent/kube/pod-index.js';
import { EventFilter, type FilterSpec } from '../../../cli/event-filter.js';
import { CgroupOwners } from '../../../cli/owners.js';

const uid = '0b8e7a52-1f6c-4c3e-9f2a-6d1e2c3b4a59';

function filter(spec: FilterSpec, threads: Record<number, number[]> = {}) {
  const mounts = { mountPoints: new Map([['unified', '/sys/fs/cgroup']] as const), unifiedControllers: [] };
  const owners = new CgroupOwners(new PodIndex(), mounts, new Map([[0, 'unified']] as const));
  owners.registry.add('unified', 1n, `/kubepods/besteffort/pod${uid}/${'c'.repeat(64)}`);
  owners.registry.add('unified', 2n, '/system.slice/backup.service');
  let reads = 0;
  const f = new EventFilter(
    spec,
    owners,
    (d) => (d.major === 254 ? 'vda' : 'sda'),
    (pid) => {
      reads++;
      return new Set(threads[pid] ?? []);
    },
  );
  return { f, reads: () => reads };
}

const at = (id: bigint) => ({ hierarchyId: 0, id });

describe('cli event filter', function () {
  it('passes everything without options', function () {
    expect(filter({}).f.accepts({ pid: 1, cgroup: at(99n) })).to.equal(true);
  });

  it('matches a process by its threads, reading them again on a miss at most every 200 ms', function () {
    const { f, reads } = filter({ pid: 100 }, { 100: [100, 101] });
    expect(f.accepts({ pid: 100, cgroup: at(1n) }, 0)).to.equal(true);
    expect(f.accepts({ pid: 101, cgroup: at(1n) }, 0)).to.equal(true);
    expect(f.accepts({ pid: 7, cgroup: at(1n) }, 50)).to.equal(false);
    expect(f.accepts({ pid: 8, cgroup: at(1n) }, 100)).to.equal(false);
    expect(reads()).to.equal(1);
    expect(f.accepts({ pid: 8, cgroup: at(1n) }, 400)).to.equal(false);
    expect(reads()).to.equal(2);
  });

  it('matches a cgroup subtree, a pod and a disk', function () {
    expect(filter({ cgroupPath: '/kubepods' }).f.accepts({ pid: 1, cgroup: at(1n) })).to.equal(true);
    expect(filter({ cgroupPath: '/kubepods' }).f.accepts({ pid: 1, cgroup: at(2n) })).to.equal(false);
    expect(filter({ cgroupPath: '/kubepods' }).f.accepts({ pid: 1, cgroup: at(3n) }), 'unknown id').to.equal(false);
    expect(filter({ podUid: uid }).f.accepts({ pid: 1, cgroup: at(1n) })).to.equal(true);
    expect(filter({ podUid: uid }).f.accepts({ pid: 1, cgroup: at(2n) })).to.equal(false);
    const vda = { major: 254, minor: 0 };
    expect(filter({ disk: 'vda' }).f.accepts({ pid: 1, cgroup: at(1n), device: vda })).to.equal(true);
    expect(filter({ disk: '254:0' }).f.accepts({ pid: 1, cgroup: at(1n), device: vda })).to.equal(true);
    expect(filter({ disk: 'sda' }).f.accepts({ pid: 1, cgroup: at(1n), device: vda })).to.equal(false);
    expect(filter({ disk: 'vda' }).f.accepts({ pid: 1, cgroup: at(1n) }), 'no disk').to.equal(false);
  });
});
