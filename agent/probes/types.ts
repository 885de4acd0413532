// The typed objects ProbeSession hands out: one window of deltas per read(), events
// per drainEvents(). Durations are nanoseconds (numbers: a window never nears 2^53 ns);
// cgroup ids are bigints (kernfs ids), each belonging to the hierarchy its section
// names. Records whose counters did not change in a window are left out.
import type { AttachMode, ProbeName, ProbeState } from '../native/index.js';

export type { AttachMode, ProbeName, ProbeState } from '../native/index.js';

/** A cgroup id within one hierarchy: 0 is the unified (v2) hierarchy; v1 hierarchies
 * are numbered as in /proc/cgroups (kernfs ids of different hierarchies can collide). */
export interface CgroupRef {
  readonly hierarchyId: number;
  readonly id: bigint;
}

export interface ProbeStatus {
  readonly probe: ProbeName;
  /** `loaded` until attach(); `active` once attached. */
  readonly state: Exclude<ProbeState, 'off'>;
  readonly attachMode?: AttachMode;
  /** Hierarchy the probe's cgroup ids belong to (absent for lifecycle). */
  readonly hierarchyId?: number;
  /** Why the probe is unsupported or failed (or a limitation when it runs). */
  readonly reason?: string;
  readonly errno?: number;
  /** errno name, e.g. `ENOENT` (no hardware PMU), `EPERM`. */
  readonly code?: string;
  readonly op?: string;
}

/** log2 histogram of durations in microseconds, bpftrace's hist() layout: slot 0
 * counts values below 1 us, slot k >= 1 counts [2^(k-1), 2^k) us (the last slot also
 * counts everything larger). */
export type LatencyHistogram = readonly number[];

/** Every cgroup that ran (the aggressor view). */
export interface CpuUsage {
  readonly cgroupId: bigint;
  /** Time its tasks held a CPU. */
  readonly oncpuNs: number;
  /** Times one of its tasks was switched out. */
  readonly slices: number;
  /** ... while still runnable (preempted or yielded), as the kernel's nivcsw. */
  readonly involuntary: number;
  /** The cgroup was removed: these are its final counters. */
  readonly dead: boolean;
}

/** Run-queue waits of a victim (target) cgroup's tasks: from entering the run queue
 * (wakeup, or preemption while runnable) to being switched in. */
export interface RunqueueWaits {
  readonly cgroupId: bigint;
  readonly waitNs: number;
  readonly waits: number;
  /** Part of waitNs older than the CPU's last 32 run segments: not split among cgroups. */
  readonly unattributedNs: number;
  readonly histogram: LatencyHistogram;
  readonly dead: boolean;
}

/** Who held a CPU or a device: a cgroup, a thread of the root cgroup (kernel threads and
 * processes outside any cgroup are named by thread, never hidden as "/"), a cgroup whose
 * dirty pages threads of the root cgroup were writing back (kworkers working on its
 * behalf), or nobody. */
export type Holder =
  | { readonly kind: 'cgroup'; readonly id: bigint }
  | { readonly kind: 'thread'; readonly pid: number }
  | { readonly kind: 'writeback'; readonly id: bigint }
  | { readonly kind: 'idle' };

/** Wait of the victim's tasks while the aggressor held that CPU. */
export interface WaitShare {
  readonly victim: bigint;
  /** idle: the CPU was idle (the victim was woken but not yet switched in). The victim's
   * own cgroup: its other tasks held the CPU. */
  readonly aggressor: Holder;
  readonly waitNs: number;
  readonly dead: boolean;
}

export interface CpuWindow {
  /** Always the unified hierarchy (0). */
  readonly hierarchyId: number;
  readonly usage: readonly CpuUsage[];
  readonly victims: readonly RunqueueWaits[];
  readonly attribution: readonly WaitShare[];
}

export type IoOp = 'read' | 'write' | 'flush' | 'discard' | 'other';

export interface BlockDevice {
  readonly major: number;
  readonly minor: number;
}

/** Requests completed per owner cgroup (the bio's blkcg), disk, op and sync flag. */
export interface IoTraffic {
  readonly cgroupId: bigint;
  readonly device: BlockDevice;
  readonly op: IoOp;
  readonly sync: boolean;
  readonly ops: number;
  readonly bytes: number;
  readonly dead: boolean;
}

/** Victim owners only. total: insert (through an IO scheduler) or else issue, to
 * completion; device: issue to completion. */
export interface IoLatency {
  readonly cgroupId: bigint;
  readonly device: BlockDevice;
  readonly op: IoOp;
  readonly sync: boolean;
  readonly count: number;
  readonly totalNs: number;
  readonly deviceNs: number;
  /** Part of totalNs during which other owners' requests were in flight on the device. */
  readonly delayedNs: number;
  /** Part of delayedNs whose owner the probe could no longer tell. */
  readonly unattributedNs: number;
  readonly totalHistogram: LatencyHistogram;
  readonly deviceHistogram: LatencyHistogram;
  readonly dead: boolean;
}

/** A victim owner's request time in flight beside another owner's requests on a device
 * (the IO twin of WaitShare): the time split evenly among the owners in flight. */
export interface IoDelay {
  readonly victim: bigint;
  /** The other owner; 0n: requests with no owner (flushes). */
  readonly holder: bigint;
  readonly device: BlockDevice;
  readonly ns: number;
  /** Victim requests that overlapped the holder's. */
  readonly requests: number;
  readonly dead: boolean;
}

export interface IoWindow {
  /** Hierarchy of the owner ids: blkio's on a v1/hybrid host, else unified (0). */
  readonly hierarchyId: number;
  readonly traffic: readonly IoTraffic[];
  readonly latency: readonly IoLatency[];
  readonly delays: readonly IoDelay[];
}

export interface ReclaimTotals {
  readonly stallNs: number;
  readonly count: number;
  /** Pages reclaimed. */
  readonly pages: number;
}

/** Time a cgroup's tasks were stalled reclaiming memory. */
export interface ReclaimStalls {
  readonly cgroupId: bigint;
  /** The page allocator reclaimed because the machine ran short. */
  readonly direct: ReclaimTotals;
  /** The cgroup (or an ancestor) hit its memory limit. */
  readonly memcg: ReclaimTotals;
  readonly dead: boolean;
}

export interface MemoryWindow {
  readonly hierarchyId: number;
  readonly stalls: readonly ReclaimStalls[];
}

/** Per-cgroup sums of the cache probe's counters (see cacheMetrics()). */
export interface CacheCounters {
  readonly cgroupId: bigint;
  readonly llcReferences: number;
  readonly llcMisses: number;
  readonly cycles: number;
  readonly instructions: number;
  readonly dead: boolean;
}

/** The cache probe's counters of one process on one CPU (when counting by task). */
export interface CacheTaskCounters {
  /** Process (thread group) id. */
  readonly pid: number;
  readonly cpu: number;
  /** Name of its thread that ran last. */
  readonly comm: string;
  readonly llcReferences: number;
  readonly llcMisses: number;
  readonly cycles: number;
  readonly instructions: number;
}

export interface CacheWindow {
  readonly hierarchyId: number;
  readonly counters: readonly CacheCounters[];
  /** Per process and CPU, when the session counts by task (ProbeOptions.cacheByTask). */
  readonly tasks?: readonly CacheTaskCounters[];
}

/** Kernel- and user-side losses in the window: non-zero means the probe is degraded. */
export interface ProbeHealth {
  readonly probe: ProbeName;
  /** Map entries that could not be created: those events were not counted. */
  readonly mapFull: number;
  /** Event records lost because the ring buffer was full. */
  readonly eventsDropped: number;
  /** Slow events recorded without their kernel stack. */
  readonly stackErrors: number;
  /** Other per-event failures (perf counter reads, task storage). */
  readonly readErrors: number;
  /** Events dropped in user space because nobody drained them. */
  readonly queueDropped: number;
  /** Stack ids that could no longer be resolved. */
  readonly stacksLost: number;
}

export interface ProbeWindow {
  /** CLOCK_MONOTONIC bounds of the window: previous read (or attach) to this one. */
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly durationNs: number;
  /** Present when the probe is active. */
  readonly cpu?: CpuWindow;
  readonly io?: IoWindow;
  readonly memory?: MemoryWindow;
  readonly cache?: CacheWindow;
  readonly health: readonly ProbeHealth[];
}

export interface CgroupEvent {
  readonly type: 'cgroup';
  readonly kind: 'mkdir' | 'rmdir';
  readonly time: Date;
  readonly monotonicNs: bigint;
  readonly cgroup: CgroupRef;
  /** Depth below the hierarchy's root. */
  readonly level: number;
  /** Path within its hierarchy. */
  readonly path: string;
  readonly pathTruncated: boolean;
}

/** A victim's block request slower than the io threshold (biosnoop's columns). */
export interface SlowIoEvent {
  readonly type: 'slow-io';
  readonly time: Date;
  readonly monotonicNs: bigint;
  /** Task that inserted or issued the request (a kworker for writeback). */
  readonly comm: string;
  readonly pid: number;
  readonly device: BlockDevice;
  readonly op: IoOp;
  /** rwbs-like: [F]{R,W,D,F,N}[F][A][S][M] (preflush, op, FUA, readahead, sync, meta). */
  readonly flags: string;
  readonly sector: bigint;
  readonly bytes: number;
  readonly totalNs: number;
  readonly deviceNs: number;
  /** The bio's owner, in the io probe's hierarchy. */
  readonly cgroup: CgroupRef;
  /** Kernel stack at insert/issue, innermost first, when stacks are captured. */
  readonly stack?: readonly string[];
}

/** A victim task's reclaim stall longer than the memory threshold (drsnoop's columns). */
export interface SlowReclaimEvent {
  readonly type: 'slow-reclaim';
  readonly time: Date;
  readonly monotonicNs: bigint;
  readonly comm: string;
  readonly tid: number;
  readonly kind: 'direct' | 'memcg';
  readonly latencyNs: number;
  readonly pages: number;
  readonly cgroup: CgroupRef;
  readonly stack?: readonly string[];
}

/** Who held the CPU during part of a slow wait (unified cgroup ids), and for how long. */
export interface RunqHolder {
  readonly holder: Holder;
  readonly ns: number;
}

/** A victim task's run-queue wait longer than ProbeOptions.runqSlowNs (runqslower's
 * columns plus who held the CPU meanwhile). */
export interface SlowRunqEvent {
  readonly type: 'slow-runq';
  readonly time: Date;
  /** When the task was switched in, after waiting. */
  readonly monotonicNs: bigint;
  readonly comm: string;
  /** Thread id. */
  readonly pid: number;
  readonly cpu: number;
  readonly waitNs: number;
  /** The waiting task's cgroup. */
  readonly cgroup: CgroupRef;
  /** The task it replaced on the CPU (pid 0: the CPU was idle). */
  readonly prev: { readonly comm: string; readonly pid: number; readonly cgroup: CgroupRef };
  /** Cgroups that held the CPU while it waited, the largest share first. */
  readonly holders: readonly RunqHolder[];
  /** Held by further cgroups beyond those listed. */
  readonly otherNs: number;
  /** Part of the wait older than the CPU's last 32 run segments: not attributed. */
  readonly unattributedNs: number;
}

export type ProbeEvent = CgroupEvent | SlowIoEvent | SlowReclaimEvent | SlowRunqEvent;
