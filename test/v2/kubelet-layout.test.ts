// The agent's cgroup-to-pod resolution on a pure cgroup-v2 node, where kubelet places
// containers in the unified hierarchy only (controllers delegated down each slice): the
// ids the cpu probe reports resolve to the right pod, QoS class and container, for the
// systemd and the cgroupfs drivers, whether the registry learnt the cgroup from the
// lifecycle probe's mkdir events or from a scan.
import { expect } from 'chai';

import { readCgroupMounts } from '../../agent/cgroups/mounts.js';
import { CgroupRegistry, readHierarchyIds } from '../../agent/cgroups/registry.js';
import type { KubeletCgroup } from '../../agent/cgroups/kubelet-path.js';
import type { CgroupEvent } from '../../agent/probes/index.js';
import { missingPureCgroupV2 } from '../../testbed/host/requirements.js';
import { useProbeFixture } from '../integration/probes/workloads.js';

const uids = [
  '1f0c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b',
  '2a1b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
  '3b2c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e',
  '4c3d5e6f-7a8b-4c9d-0e1f-2a3b4c5d6e7f',
] as const;
const containers = ['a1', 'b2', 'c3', 'd4'].map((p) => p.repeat(32));
const underscored = (uid: string) => uid.replaceAll('-', '_');

const layouts: { path: string; expected: KubeletCgroup }[] = [
  {
    path: `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${underscored(uids[0])}.slice/cri-containerd-${containers[0]}.scope`,
    expected: {
      podUid: uids[0],
      qos: 'Burstable',
      driver: 'systemd',
      container: { id: containers[0]!, runtime: 'containerd' },
    },
  },
  {
    path: `kubepods.slice/kubepods-pod${underscored(uids[1])}.slice/crio-${containers[1]}.scope`,
    expected: {
      podUid: uids[1],
      qos: 'Guaranteed',
      driver: 'systemd',
      container: { id: containers[1]!, runtime: 'cri-o' },
    },
  },
  {
    path: `kubepods/besteffort/pod${uids[2]}/${containers[2]}`,
    expected: {
      podUid: uids[2],
      qos: 'BestEffort',
      driver: 'cgroupfs',
      container: { id: containers[2]!, runtime: 'unknown' },
    },
  },
  {
    path: `kubepods/pod${uids[3]}/${containers[3]}`,
    expected: {
      podUid: uids[3],
      qos: 'Guaranteed',
      driver: 'cgroupfs',
      container: { id: containers[3]!, runtime: 'unknown' },
    },
  },
];

describe('kubelet cgroup layouts on pure cgroup v2', function () {
  const fixture = useProbeFixture(missingPureCgroupV2);

  it('resolves the cpu probe’s cgroup ids to pod and container for both drivers', async function () {
    const f = fixture();
    const session = f.open({ probes: ['cpu'] });
    session.attach();
    const cgroups = layouts.map((l) => f.cgroup(l.path));
    const loop = 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done';
    expect(await Promise.all(cgroups.map((cg) => cg.run('sh', ['-c', loop])))).to.deep.equal([0, 0, 0, 0]);
    const { cpu } = await session.read();

    const hierarchies = readHierarchyIds();
    const fromEvents = new CgroupRegistry();
    for (const e of session.drainEvents().filter((e): e is CgroupEvent => e.type === 'cgroup' && e.kind === 'mkdir')) {
      const hierarchy = hierarchies.get(e.cgroup.hierarchyId);
      if (hierarchy) fromEvents.add(hierarchy, e.cgroup.id, e.path);
    }
    const fromScan = new CgroupRegistry();
    fromScan.scan(readCgroupMounts(), ['unified']);

    layouts.forEach((layout, i) => {
      const id = cgroups[i]!.id();
      const usage = cpu!.usage.find((u) => u.cgroupId === id);
      expect(usage?.oncpuNs ?? 0, `CPU time of ${layout.path}`).to.be.above(0);
      expect(cgroups[i]!.read('cgroup.controllers').split(/\s+/), 'delegated controllers').to.include.members([
        'cpu',
        'io',
        'memory',
      ]);
      for (const [how, registry] of [
        ['mkdir events', fromEvents],
        ['a scan', fromScan],
      ] as const) {
        const entry = registry.get('unified', id);
        expect(entry?.path, `path from ${how}`).to.match(new RegExp(`/${layout.path.replaceAll('.', '\\.')}$`));
        expect(entry?.kubelet, `pod of ${layout.path} from ${how}`).to.deep.equal(layout.expected);
      }
    });
  });
});
