// Where kubelet puts pod and container cgroups, for both cgroup drivers, relative to the
// cgroup root (here: the harness node's own scope). The agent resolves pods from these
// paths, so they follow kubelet and containerd exactly:
//   systemd:  kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/cri-containerd-<id>.scope
//   cgroupfs: kubepods/burstable/pod<uid>/<id>
// Guaranteed pods sit directly under kubepods in both. agent/cgroups/kubelet-path.ts is the
// reading side.
import type { CgroupDriver, QosClass } from '../../agent/cgroups/kubelet-path.js';

export type { CgroupDriver, QosClass };

/** The QoS-level cgroup (kubepods for Guaranteed). */
export function qosCgroupPath(driver: CgroupDriver, qos: QosClass): string {
  const level = qos.toLowerCase();
  if (driver === 'systemd') return qos === 'Guaranteed' ? 'kubepods.slice' : `kubepods.slice/kubepods-${level}.slice`;
  return qos === 'Guaranteed' ? 'kubepods' : `kubepods/${level}`;
}

export function podCgroupPath(driver: CgroupDriver, qos: QosClass, podUid: string): string {
  if (driver === 'cgroupfs') return `${qosCgroupPath(driver, qos)}/pod${podUid}`;
  // systemd unit names use '-' as the hierarchy separator, so the uid's dashes become '_'.
  const unitUid = podUid.replaceAll('-', '_');
  const prefix = qos === 'Guaranteed' ? 'kubepods' : `kubepods-${qos.toLowerCase()}`;
  return `${qosCgroupPath(driver, qos)}/${prefix}-pod${unitUid}.slice`;
}

export function containerCgroupPath(driver: CgroupDriver, qos: QosClass, podUid: string, containerId: string): string {
  const leaf = driver === 'systemd' ? `cri-containerd-${containerId}.scope` : containerId;
  return `${podCgroupPath(driver, qos, podUid)}/${leaf}`;
}
