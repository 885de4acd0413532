import { expect } from 'chai';

import { parseKubeletCgroup } from '../../../../agent/cgroups/kubelet-path.js';
import { containerCgroupPath, podCgroupPath, qosCgroupPath } from '../../../../testbed/kubelet/cgroup-layout.js';

const uid = '0c1e9c7e-5d0a-4a4e-9f8b-2b1d7e6c5a41';
const id = 'ab'.repeat(32);

describe('harness cgroup layout', function () {
  it('follows kubelet with the systemd driver', function () {
    expect(containerCgroupPath('systemd', 'Burstable', uid, id)).to.equal(
      `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0c1e9c7e_5d0a_4a4e_9f8b_2b1d7e6c5a41.slice/cri-containerd-${id}.scope`,
    );
    expect(podCgroupPath('systemd', 'BestEffort', uid)).to.equal(
      'kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0c1e9c7e_5d0a_4a4e_9f8b_2b1d7e6c5a41.slice',
    );
    expect(podCgroupPath('systemd', 'Guaranteed', uid)).to.equal(
      'kubepods.slice/kubepods-pod0c1e9c7e_5d0a_4a4e_9f8b_2b1d7e6c5a41.slice',
    );
  });

  it('follows kubelet with the cgroupfs driver', function () {
    expect(containerCgroupPath('cgroupfs', 'Burstable', uid, id)).to.equal(`kubepods/burstable/pod${uid}/${id}`);
    expect(podCgroupPath('cgroupfs', 'Guaranteed', uid)).to.equal(`kubepods/pod${uid}`);
    expect(qosCgroupPath('cgroupfs', 'BestEffort')).to.equal('kubepods/besteffort');
  });

  it("reads back through the agent's parser for every driver and QoS class", function () {
    for (const driver of ['systemd', 'cgroupfs'] as const) {
      for (const qos of ['Guaranteed', 'Burstable', 'BestEffort'] as const) {
        const path = `/process_api/x/crosstalk-1-node-a/${containerCgroupPath(driver, qos, uid, id)}`;
        expect(parseKubeletCgroup(path), path).to.deep.include({ podUid: uid, qos, driver });
        expect(parseKubeletCgroup(path)?.container?.id).to.equal(id);
      }
    }
  });
});
