// Recognises the cgroups kubelet creates for pods and containers, from the path alone, for
// both cgroup drivers and the common runtimes. The same relative path appears in every
// hierarchy a container is placed in (unified on v2 nodes; cpu, memory, blkio... on v1).
//
//   systemd:  kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/cri-containerd-<id>.scope
//             kubepods.slice/kubepods-pod<uid_>.slice/crio-<id>.scope            (Guaranteed QoS)
//   cgroupfs: kubepods/besteffort/pod<uid>/<id>
//             kubepods/pod<uid>/<id>                                            (Guaranteed QoS)
//
// systemd unit names cannot contain '-' inside a component, so the pod UID's dashes are
// written as underscores there.

export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';
export type CgroupDriver = 'systemd' | 'cgroupfs';
export type ContainerRuntime = 'containerd' | 'cri-o' | 'docker' | 'unknown';

/** What a kubelet cgroup path says about the pod (and container) it belongs to. */
export interface KubeletCgroup {
  readonly podUid: string;
  readonly qos: QosClass;
  readonly driver: CgroupDriver;
  /** Absent for the pod-level cgroup itself. */
  readonly container?: { readonly id: string; readonly runtime: ContainerRuntime };
}

const uidPattern = '[0-9a-fA-F]{8}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{12}';
const systemdPod = new RegExp(`^kubepods(?:-(burstable|besteffort))?-pod(${uidPattern})\\.slice$`);
const cgroupfsPod = new RegExp(`^pod(${uidPattern})$`);
const containerId = /^[0-9a-f]{64}$/;
const systemdContainer = /^(cri-containerd|crio|docker)-([0-9a-f]{64})\.scope$/;

/** Parses a cgroup path (any prefix, any hierarchy); undefined when it is not a pod's. */
export function parseKubeletCgroup(path: string): KubeletCgroup | undefined {
  const parts = path.split('/').filter(Boolean);
  const root = parts.findIndex((p) => p === 'kubepods.slice' || p === 'kubepods');
  if (root < 0) return undefined;
  return parts[root] === 'kubepods.slice' ? parseSystemd(parts.slice(root + 1)) : parseCgroupfs(parts.slice(root + 1));
}

function parseSystemd(parts: string[]): KubeletCgroup | undefined {
  // An optional QoS slice comes first; the pod slice carries the QoS in its own name.
  const rest = /^kubepods-(burstable|besteffort)\.slice$/.test(parts[0] ?? '') ? parts.slice(1) : parts;
  const pod = systemdPod.exec(rest[0] ?? '');
  if (!pod) return undefined;
  const podUid = normaliseUid(pod[2] ?? '');
  const qos = qosFrom(pod[1]);
  if (rest.length === 1) return { podUid, qos, driver: 'systemd' };
  const container = systemdContainer.exec(rest[1] ?? '');
  if (!container || rest.length > 2) return undefined;
  return { podUid, qos, driver: 'systemd', container: { id: container[2] ?? '', runtime: runtimeFrom(container[1]) } };
}

function parseCgroupfs(parts: string[]): KubeletCgroup | undefined {
  const rest = parts[0] === 'burstable' || parts[0] === 'besteffort' ? parts.slice(1) : parts;
  const pod = cgroupfsPod.exec(rest[0] ?? '');
  if (!pod) return undefined;
  const qos = parts[0] === rest[0] ? 'Guaranteed' : qosFrom(parts[0]);
  const podUid = normaliseUid(pod[1] ?? '');
  if (rest.length === 1) return { podUid, qos, driver: 'cgroupfs' };
  const id = rest[1] ?? '';
  if (!containerId.test(id) || rest.length > 2) return undefined;
  // The cgroupfs driver names the container directory by its bare id: no runtime prefix.
  return { podUid, qos, driver: 'cgroupfs', container: { id, runtime: 'unknown' } };
}

function qosFrom(name: string | undefined): QosClass {
  if (name === 'burstable') return 'Burstable';
  if (name === 'besteffort') return 'BestEffort';
  return 'Guaranteed';
}

function runtimeFrom(prefix: string | undefined): ContainerRuntime {
  if (prefix === 'cri-containerd') return 'containerd';
  if (prefix === 'crio') return 'cri-o';
  if (prefix === 'docker') return 'docker';
  return 'unknown';
}

function normaliseUid(uid: string): string {
  return uid.replaceAll('_', '-').toLowerCase();
}

/** The bare id from a Pod's containerStatuses[].containerID (`containerd://<id>`). */
export function containerIdFromStatus(containerID: string | undefined): string | undefined {
  const id = containerID?.split('://')[1];
  return id && containerId.test(id) ? id : undefined;
}
