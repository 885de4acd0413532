// Which events a node-local tool shows: the probes record every cgroup's, and the
// options narrow them down to one process (-p), one cgroup subtree (--cgroup), one pod
// (--pod) or one disk (-d).
import { readdirSync } from 'node:fs';

import type { BlockDevice, CgroupRef } from '../agent/probes/index.js';
import { isUnder, type CgroupOwners } from './owners.js';

export interface FilterSpec {
  /** A process: its threads match (events carry thread ids). */
  readonly pid?: number | undefined;
  /** A cgroup path relative to the hierarchies' roots; its descendants match too. */
  readonly cgroupPath?: string | undefined;
  readonly podUid?: string | undefined;
  /** A disk name (vda) or major:minor. */
  readonly disk?: string | undefined;
}

export interface EventSubject {
  /** Thread id. */
  readonly pid: number;
  readonly cgroup: CgroupRef;
  readonly device?: BlockDevice;
}

/** Thread ids of a process, from /proc; empty once it is gone. */
export function threadsOf(pid: number): Set<number> {
  try {
    return new Set(readdirSync(`/proc/${pid}/task`).map(Number));
  } catch {
    return new Set();
  }
}

export class EventFilter {
  private threads = new Set<number>();
  private threadsReadMs = -Infinity;

  constructor(
    private readonly spec: FilterSpec,
    private readonly owners: CgroupOwners,
    private readonly nameDisk: (device: BlockDevice) => string,
    private readonly listThreads: (pid: number) => Set<number> = threadsOf,
  ) {}

  accepts(e: EventSubject, nowMs = Date.now()): boolean {
    const { pid, cgroupPath, podUid, disk } = this.spec;
    if (pid !== undefined && e.pid !== pid && !this.isThreadOf(pid, e.pid, nowMs)) return false;
    if (cgroupPath !== undefined) {
      const entry = this.owners.entry(e.cgroup);
      if (!entry || !isUnder(entry.path, cgroupPath)) return false;
    }
    if (podUid !== undefined && this.owners.entry(e.cgroup)?.kubelet?.podUid !== podUid) return false;
    if (disk !== undefined) {
      const device = e.device;
      if (!device || (this.nameDisk(device) !== disk && `${device.major}:${device.minor}` !== disk)) return false;
    }
    return true;
  }

  /** Threads come and go: the list is read again on a miss, at most every 200 ms. */
  private isThreadOf(pid: number, tid: number, nowMs: number): boolean {
    if (!this.threads.has(tid) && nowMs - this.threadsReadMs >= 200) {
      this.threads = this.listThreads(pid);
      this.threadsReadMs = nowMs;
    }
    return this.threads.has(tid);
  }
}
