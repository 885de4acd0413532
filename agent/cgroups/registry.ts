// Every cgroup the agent knows on its node, by (hierarchy, kernel id): where it is, which
// pod/container it belongs to, and when it died. Fed by a scan at start (cgroups older
// than the agent) and by the lifecycle probe's mkdir/rmdir events (cgroups that may live
// only 100 ms). Dead cgroups stay until their last counters have been read (tombstones).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import type { CgroupMounts, Hierarchy } from './mounts.js';
import { parseKubeletCgroup, type KubeletCgroup } from './kubelet-path.js';

export interface CgroupEntry {
  readonly hierarchy: Hierarchy;
  readonly id: bigint;
  /** Path relative to the hierarchy's root, starting with '/'. */
  readonly path: string;
  /** Set when the path is a kubelet pod or container cgroup of this node. */
  readonly kubelet: KubeletCgroup | undefined;
  /** Whether the cgroup belongs to this node (see the registry's scope). Cgroups outside
   * still share the machine's CPUs and disks: they are named by path as neighbours. */
  readonly inScope: boolean;
  /** Reported by the lifecycle probe while measuring (not found by a scan): everything it
   * holds it gained while watched. */
  readonly bornWatched: boolean;
  diedAtMs: number | undefined;
}

export class CgroupRegistry {
  private readonly entries = new Map<string, CgroupEntry>();

  /** @param scope when set, only cgroups whose path contains this segment belong to this
   * node (several harness nodes share one machine in tests); production passes none. */
  constructor(private readonly scope?: string) {}

  add(hierarchy: Hierarchy, id: bigint, path: string, bornWatched = false): CgroupEntry {
    const inScope = !this.scope || path.split('/').includes(this.scope);
    const kubelet = inScope ? parseKubeletCgroup(path) : undefined;
    const entry: CgroupEntry = { hierarchy, id, path, kubelet, inScope, bornWatched, diedAtMs: undefined };
    this.entries.set(keyOf(hierarchy, id), entry);
    return entry;
  }

  markDead(hierarchy: Hierarchy, id: bigint, nowMs: number): void {
    const entry = this.entries.get(keyOf(hierarchy, id));
    if (entry && entry.diedAtMs === undefined) entry.diedAtMs = nowMs;
  }

  get(hierarchy: Hierarchy, id: bigint): CgroupEntry | undefined {
    return this.entries.get(keyOf(hierarchy, id));
  }

  /** Drops tombstones of cgroups that died before `beforeMs` (their counters were read). */
  forgetDead(beforeMs: number): CgroupEntry[] {
    const forgotten: CgroupEntry[] = [];
    for (const [key, entry] of this.entries) {
      if (entry.diedAtMs !== undefined && entry.diedAtMs < beforeMs) {
        this.entries.delete(key);
        forgotten.push(entry);
      }
    }
    return forgotten;
  }

  *all(): IterableIterator<CgroupEntry> {
    yield* this.entries.values();
  }

  get size(): number {
    return this.entries.size;
  }

  /** Walks the given hierarchies' trees and records every cgroup directory found. */
  scan(mounts: CgroupMounts, hierarchies: readonly Hierarchy[]): void {
    for (const hierarchy of hierarchies) {
      const root = mounts.mountPoints.get(hierarchy);
      if (root) this.walk(hierarchy, root, '/');
    }
  }

  private walk(hierarchy: Hierarchy, root: string, path: string): void {
    let children;
    try {
      children = readdirSync(join(root, path), { withFileTypes: true });
      this.add(hierarchy, statSync(join(root, path), { bigint: true }).ino, path);
    } catch {
      return; // removed while we walked: the lifecycle probe reports it
    }
    for (const child of children) if (child.isDirectory()) this.walk(hierarchy, root, join(path, child.name));
  }
}

function keyOf(hierarchy: Hierarchy, id: bigint): string {
  return `${hierarchy}:${id}`;
}

/** Maps the hierarchy ids the kernel reports in cgroup tracepoints (`root`) to hierarchies:
 * 0 is the unified one; v1 ids come from /proc/cgroups. */
export function parseHierarchyIds(procCgroups: string): Map<number, Hierarchy> {
  const ids = new Map<number, Hierarchy>([[0, 'unified']]);
  const known = new Set<string>(['cpu', 'cpuacct', 'memory', 'blkio', 'cpuset', 'pids']);
  for (const line of procCgroups.split('\n')) {
    const [name, hierarchy, , enabled] = line.split('\t');
    if (!name || name.startsWith('#') || enabled !== '1' || !known.has(name)) continue;
    const id = Number(hierarchy);
    if (id > 0 && !ids.has(id)) ids.set(id, name as Hierarchy);
  }
  return ids;
}

export function readHierarchyIds(): Map<number, Hierarchy> {
  return parseHierarchyIds(readFileSync('/proc/cgroups', 'utf8'));
}
