// Who owns a cgroup id a probe reported: its path (from a scan of every hierarchy at start
// and the lifecycle probe's mkdir/rmdir events after), and, for kubelet's pod cgroups,
// the pod: by name when the Kubernetes API can be asked, else by UID in the path.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

import { parseKubeletCgroup } from '../agent/cgroups/kubelet-path.js';
import { readCgroupMounts, type CgroupMounts, type Hierarchy } from '../agent/cgroups/mounts.js';
import { CgroupRegistry, readHierarchyIds, type CgroupEntry } from '../agent/cgroups/registry.js';
import { PodIndex, podSchema } from '../agent/kube/pod-index.js';
import type { ResolveSubject } from '../agent/measure/fold.js';
import { subjectResolver, subjectText } from '../agent/measure/subjects.js';
import type { CgroupEvent, CgroupRef } from '../agent/probes/index.js';
import type { SubjectRef } from '../agent/report/assess.js';
import type { KubeClient } from '../common/kube/client.js';
import type { PodName } from '../common/arguments.js';
import { CliError } from './errors.js';
import { apiFailure, loadKubeClient } from './kube.js';

/** How long a rmdir'd cgroup keeps its name: its last events may still be queued. */
const keepDeadMs = 60_000;

export class CgroupOwners {
  readonly registry = new CgroupRegistry();
  readonly resolve: ResolveSubject;

  constructor(
    readonly pods: PodIndex = new PodIndex(),
    readonly mounts: CgroupMounts = readCgroupMounts(),
    readonly hierarchies: ReadonlyMap<number, Hierarchy> = readHierarchyIds(),
  ) {
    this.resolve = subjectResolver(this.registry, pods, hierarchies);
  }

  /** Records every cgroup that exists now, in every mounted hierarchy. */
  scan(): void {
    this.registry.scan(this.mounts, [...this.hierarchies.values()]);
  }

  /** Keeps up with cgroups created and removed since the scan. */
  observe(event: CgroupEvent, nowMs = Date.now()): void {
    const hierarchy = this.hierarchies.get(event.cgroup.hierarchyId);
    if (!hierarchy) return;
    if (event.kind === 'mkdir') this.registry.add(hierarchy, event.cgroup.id, event.path);
    else this.registry.markDead(hierarchy, event.cgroup.id, nowMs);
    this.registry.forgetDead(nowMs - keepDeadMs);
  }

  entry(ref: CgroupRef): CgroupEntry | undefined {
    const hierarchy = this.hierarchies.get(ref.hierarchyId);
    return hierarchy ? this.registry.get(hierarchy, ref.id) : undefined;
  }

  /** The cgroup's path in its hierarchy, or a placeholder naming the id. */
  path(ref: CgroupRef): string {
    return this.entry(ref)?.path ?? `(cgroup id ${ref.id})`;
  }

  /** The pod (or cgroup) the id belongs to. */
  owner(ref: CgroupRef): SubjectRef {
    return this.resolve(ref.hierarchyId, ref.id).ref;
  }

  /** Pod UIDs of kubelet cgroups among `refs` (every cgroup known when absent) that the
   * pod index does not know yet. */
  unknownPods(refs?: readonly CgroupRef[]): string[] {
    const entries = refs ? refs.map((ref) => this.entry(ref)) : [...this.registry.all()];
    const uids = new Set<string>();
    for (const entry of entries) {
      const uid = entry?.kubelet?.podUid;
      if (uid && entry.diedAtMs === undefined && !this.pods.get(uid)) uids.add(uid);
    }
    return [...uids];
  }

  /** Turns a --cgroup argument (a path in a hierarchy, or under a mount point) into a
   * path relative to the hierarchies' roots. */
  relativePath(path: string): string {
    for (const mount of this.mounts.mountPoints.values())
      if (path === mount || path.startsWith(`${mount}/`)) return path.slice(mount.length) || '/';
    return path.startsWith('/') ? path : `/${path}`;
  }
}

/** A subject as people read it: "namespace/name" for a pod, "pod:<uid>" for a pod the
 * API did not name, the path for any other cgroup. */
export function ownerText(ref: SubjectRef): string {
  const kubelet = ref.kind === 'Cgroup' ? parseKubeletCgroup(ref.path) : undefined;
  return kubelet ? `pod:${kubelet.podUid}` : subjectText(ref);
}

/** Whether `path` is `under` or one of its descendants. */
export function isUnder(path: string, under: string): boolean {
  const root = under.replace(/\/+$/, '');
  return root === '' || path === root || path.startsWith(`${root}/`);
}

/** Whether the Kubernetes API is configured at all: an explicit kubeconfig, $KUBECONFIG,
 * ~/.kube/config, or a pod's service account. */
export function apiConfigured(kubeconfig: string | undefined): boolean {
  return (
    kubeconfig !== undefined ||
    Boolean(process.env.KUBECONFIG) ||
    existsSync(join(homedir(), '.kube', 'config')) ||
    Boolean(process.env.KUBERNETES_SERVICE_HOST)
  );
}

const podListSchema = z.object({ items: z.array(podSchema) });
const podMetaSchema = z.looseObject({ metadata: z.looseObject({ uid: z.string() }) });

/** Pod names from the API, fetched when an unknown pod UID shows up (at most every
 * `minRefreshMs`); if the API fails, one warning and the tools go on with UIDs. */
export class PodNames {
  private lastList = -Infinity;
  private warned = false;

  constructor(
    private readonly client: KubeClient,
    private readonly pods: PodIndex,
    private readonly warn: (message: string) => void,
    /** List only this node's pods (spec.nodeName); every pod when absent. */
    private readonly nodeName?: string,
    private readonly minRefreshMs = 5_000,
  ) {}

  /** A client for `kubeconfig` when the API is configured, else undefined. */
  static connect(
    kubeconfig: string | undefined,
    pods: PodIndex,
    warn: (message: string) => void,
    nodeName?: string,
  ): PodNames | undefined {
    if (!apiConfigured(kubeconfig)) return undefined;
    return new PodNames(loadKubeClient(kubeconfig), pods, warn, nodeName);
  }

  /** Lists pods again if some of `uids` are unknown and the last list is old enough. */
  async learn(uids: readonly string[], nowMs = Date.now()): Promise<void> {
    if (uids.length === 0 || nowMs - this.lastList < this.minRefreshMs) return;
    this.lastList = nowMs;
    try {
      const raw = await this.client.get('/api/v1/pods', {
        ...(this.nodeName ? { fieldSelector: `spec.nodeName=${this.nodeName}` } : {}),
      });
      for (const pod of podListSchema.parse(raw).items) this.pods.upsert(pod);
    } catch (err) {
      if (this.warned) return;
      this.warned = true;
      this.warn(`pod names unavailable, showing pod UIDs (${err instanceof Error ? err.message : String(err)})`);
    }
  }

  /** The UID of a pod named on the command line (--pod); a missing pod is an error. */
  async uidOf(pod: PodName): Promise<string> {
    const what = `pod "${pod.name}" in namespace "${pod.namespace}"`;
    let raw: unknown;
    try {
      raw = await this.client.get(`/api/v1/namespaces/${pod.namespace}/pods/${pod.name}`);
    } catch (err) {
      throw apiFailure(err, what);
    }
    const parsed = podMetaSchema.safeParse(raw);
    if (!parsed.success) throw new CliError('Failed', `unreadable ${what}: ${z.prettifyError(parsed.error)}`);
    return parsed.data.metadata.uid;
  }
}
