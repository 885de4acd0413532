// The pods bound to this node, by UID, as the pod informer reports them. A deleted pod's
// identity is kept for a while: its cgroups' last counters (a container that lived
// 100 ms) are read after the pod object is gone, and must still be reported by name.
import { z } from 'zod';

import { memoryBytes } from '../../common/quantity.js';
import { containerIdFromStatus } from '../cgroups/kubelet-path.js';

export interface PodIdentity {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  /** Container name by container id, from the pod's container statuses. */
  readonly containers: ReadonlyMap<string, string>;
  /** Its controller (Job, ReplicaSet, ...), if any; for a pod without one, its
   * application label (a stream of bare pods, one per task, is judged as one workload). */
  readonly owner: { readonly kind: string; readonly name: string } | undefined;
  /** Memory its containers request (what the scheduler set aside for it). */
  readonly memoryRequestBytes: number;
  /** Annotated `crosstalk.dev/no-confirm`: never restrained by a confirmation. */
  readonly noConfirm: boolean;
  deletedAtMs: number | undefined;
}

/** The part of a Pod the agent reads, parsed at the edge. */
export const podSchema = z.looseObject({
  metadata: z.looseObject({
    uid: z.string(),
    namespace: z.string(),
    name: z.string(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    ownerReferences: z
      .array(z.looseObject({ kind: z.string(), name: z.string(), controller: z.boolean().optional() }))
      .optional(),
  }),
  spec: z
    .looseObject({
      containers: z
        .array(
          z.looseObject({
            resources: z
              .looseObject({ requests: z.record(z.string(), z.union([z.string(), z.number()])).optional() })
              .optional(),
          }),
        )
        .optional(),
    })
    .optional(),
  status: z
    .looseObject({
      initContainerStatuses: z
        .array(z.looseObject({ name: z.string(), containerID: z.string().optional() }))
        .optional(),
      containerStatuses: z.array(z.looseObject({ name: z.string(), containerID: z.string().optional() })).optional(),
    })
    .optional(),
});
export type Pod = z.output<typeof podSchema>;

/** A pod carrying this annotation (any value) is never restrained to confirm a suspicion. */
export const noConfirmAnnotation = 'crosstalk.dev/no-confirm';

export class PodIndex {
  private readonly pods = new Map<string, PodIdentity>();

  constructor(private readonly keepDeletedMs = 10 * 60_000) {}

  upsert(pod: Pod): void {
    const { uid, namespace, name } = pod.metadata;
    const containers = new Map(this.pods.get(uid)?.containers);
    const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    for (const s of statuses) {
      // Keep every id seen: a restarted container gets a new id, the old cgroup may linger.
      const id = containerIdFromStatus(s.containerID);
      if (id) containers.set(id, s.name);
    }
    this.pods.set(uid, {
      uid,
      namespace,
      name,
      containers,
      owner: ownerOf(pod),
      memoryRequestBytes: memoryRequestOf(pod),
      noConfirm: pod.metadata.annotations?.[noConfirmAnnotation] !== undefined,
      deletedAtMs: undefined,
    });
  }

  markDeleted(uid: string | undefined, nowMs: number): void {
    const pod = uid ? this.pods.get(uid) : undefined;
    if (pod && pod.deletedAtMs === undefined) pod.deletedAtMs = nowMs;
  }

  get(uid: string): PodIdentity | undefined {
    return this.pods.get(uid);
  }

  /** Forgets pods deleted longer ago than the retention. */
  prune(nowMs: number): void {
    for (const [uid, pod] of this.pods) {
      if (pod.deletedAtMs !== undefined && nowMs - pod.deletedAtMs > this.keepDeletedMs) this.pods.delete(uid);
    }
  }
}

/** The controller, else the application label (`app.kubernetes.io/name`, then `app`). */
function ownerOf(pod: Pod): PodIdentity['owner'] {
  const controller = pod.metadata.ownerReferences?.find((o) => o.controller);
  if (controller) return { kind: controller.kind, name: controller.name };
  const labels = pod.metadata.labels ?? {};
  const app = labels['app.kubernetes.io/name'] ?? labels.app;
  return app ? { kind: 'app', name: app } : undefined;
}

function memoryRequestOf(pod: Pod): number {
  let bytes = 0;
  for (const c of pod.spec?.containers ?? []) {
    const request = c.resources?.requests?.memory;
    try {
      if (request !== undefined) bytes += memoryBytes(String(request));
    } catch {
      // The apiserver validated it; a quantity this parser does not know counts as none.
    }
  }
  return bytes;
}
