import { expect } from 'chai';

import { containerIdFromStatus, parseKubeletCgroup } from '../../../../agent/cgroups/kubelet-path.js';

const uid = '0a1b2c3d-4e5f-6789-abcd-ef0123456789';
const uidUnderscored = uid.replaceAll('-', '_');
const id = 'f'.repeat(8) + '0123456789abcdef'.repeat(3) + 'a'.repeat(8);

describe('kubelet cgroup paths', function () {
  it('parses the systemd driver layout with containerd, CRI-O and Docker', function () {
    const pod = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uidUnderscored}.slice`;
    expect(parseKubeletCgroup(`${pod}/cri-containerd-${id}.scope`)).to.deep.equal({
      podUid: uid,
      qos: 'Burstable',
      driver: 'systemd',
      container: { id, runtime: 'containerd' },
    });
    expect(parseKubeletCgroup(`${pod}/crio-${id}.scope`)?.container?.runtime).to.equal('cri-o');
    expect(parseKubeletCgroup(`${pod}/docker-${id}.scope`)?.container?.runtime).to.equal('docker');
    expect(parseKubeletCgroup(pod)).to.deep.equal({ podUid: uid, qos: 'Burstable', driver: 'systemd' });
  });

  it('parses Guaranteed and BestEffort pods under the systemd driver', function () {
    expect(parseKubeletCgroup(`/kubepods.slice/kubepods-pod${uidUnderscored}.slice`)?.qos).to.equal('Guaranteed');
    const be = `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uidUnderscored}.slice`;
    expect(parseKubeletCgroup(be)?.qos).to.equal('BestEffort');
  });

  it('parses the cgroupfs driver layout', function () {
    expect(parseKubeletCgroup(`/kubepods/besteffort/pod${uid}/${id}`)).to.deep.equal({
      podUid: uid,
      qos: 'BestEffort',
      driver: 'cgroupfs',
      container: { id, runtime: 'unknown' },
    });
    expect(parseKubeletCgroup(`/kubepods/pod${uid}`)).to.deep.equal({
      podUid: uid,
      qos: 'Guaranteed',
      driver: 'cgroupfs',
    });
  });

  it('finds the layout beneath any prefix (v1 memory cgroups, test scopes)', function () {
    const path = `/process_api/abc/crosstalk-1-node-a/kubepods/burstable/pod${uid}/${id}`;
    expect(parseKubeletCgroup(path)?.podUid).to.equal(uid);
  });

  it('rejects what is not a pod or container cgroup', function () {
    expect(parseKubeletCgroup('/system.slice/kubelet.service')).to.be.undefined;
    expect(parseKubeletCgroup('/kubepods.slice')).to.be.undefined;
    expect(parseKubeletCgroup('/kubepods.slice/kubepods-burstable.slice')).to.be.undefined;
    expect(parseKubeletCgroup(`/kubepods/pod${uid}/not-a-container`)).to.be.undefined;
    expect(parseKubeletCgroup(`/kubepods/pod${uid}/${id}/nested`)).to.be.undefined;
  });

  it('reads the container id of a pod status', function () {
    expect(containerIdFromStatus(`containerd://${id}`)).to.equal(id);
    expect(containerIdFromStatus('containerd://short')).to.be.undefined;
    expect(containerIdFromStatus(undefined)).to.be.undefined;
  });
});
