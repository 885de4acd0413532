// Names the subject behind a cgroup: the pod it belongs to (by the kubelet layout of its
// path and the pod informer), or else the cgroup itself by path.
import type { CgroupEntry, CgroupRegistry } from '../cgroups/registry.js';
import type { Hierarchy } from '../cgroups/mounts.js';
import type { PodIndex } from '../kube/pod-index.js';
import type { SubjectRef } from '../report/assess.js';
import type { ResolveSubject, Subject } from './fold.js';

/** A subject as people read it: "namespace/name", a cgroup path, or a thread's name. */
export function subjectText(ref: SubjectRef): string {
  switch (ref.kind) {
    case 'Pod':
      return `${ref.namespace}/${ref.name}`;
    case 'Cgroup':
      return ref.path;
    case 'Thread':
      return ref.name;
  }
}

export function podKey(uid: string): string {
  return `pod/${uid}`;
}

export function subjectOfEntry(entry: CgroupEntry, pods: PodIndex): Subject {
  const podUid = entry.kubelet?.podUid;
  if (!podUid) return { key: `cgroup/${entry.path}`, ref: { kind: 'Cgroup', path: entry.path } };
  const pod = pods.get(podUid);
  return {
    key: podKey(podUid),
    ref: pod
      ? {
          kind: 'Pod',
          namespace: pod.namespace,
          name: pod.name,
          uid: podUid,
          ...(pod.owner ? { owner: pod.owner } : {}),
        }
      : { kind: 'Cgroup', path: podDirectory(entry.path) },
  };
}

export function subjectResolver(
  registry: CgroupRegistry,
  pods: PodIndex,
  hierarchies: ReadonlyMap<number, Hierarchy>,
): ResolveSubject {
  return (hierarchyId, cgroupId) => {
    const hierarchy = hierarchies.get(hierarchyId);
    const entry = hierarchy ? registry.get(hierarchy, cgroupId) : undefined;
    if (entry) return subjectOfEntry(entry, pods);
    const where = `${hierarchy ?? `hierarchy ${hierarchyId}`} cgroup id ${cgroupId}`;
    return { key: `cgroup/${where}`, ref: { kind: 'Cgroup', path: `(unknown ${where})` } };
  };
}

/** The pod-level directory of a container cgroup path (for pods the API does not know). */
function podDirectory(path: string): string {
  const parts = path.split('/');
  const pod = parts.findIndex((p) => /^(kubepods-.*pod|pod)[0-9a-fA-F_-]{36}(\.slice)?$/.test(p));
  return pod >= 0 ? parts.slice(0, pod + 1).join('/') : path;
}
