// Turns one victim's measurements over a span (a window, or the session so far) into its
// report: a score per resource, a verdict, whether its own limits are the cause, and the
// neighbours to blame, ranked, each with the share of the loss and the evidence for it.
import { formatBytes, formatDuration, formatPercent } from './format.js';
import {
  ioLatencyFloorNs,
  minAggressorShare,
  minIoOpsForP99,
  type Resource,
  scoreOf,
  selfInflictedShare,
  type Verdict,
  verdictOf,
} from './thresholds.js';

/** Who a neighbour is: a pod, or a cgroup no pod owns (system services, kubelet). */
export type SubjectRef =
  | {
      readonly kind: 'Pod';
      readonly namespace: string;
      readonly name: string;
      readonly uid: string;
      /** The pod's controller (Job, ReplicaSet...): its pods are judged together. */
      readonly owner?: { readonly kind: string; readonly name: string };
    }
  | { readonly kind: 'Cgroup'; readonly path: string };

export interface CpuSpan {
  /** Run-queue wait of the victim's tasks behind other cgroups' tasks: without the wakeup
   * latency of an idle CPU and without waits behind the victim's own tasks. */
  readonly waitNs: number;
  /** Time the victim's tasks ran. */
  readonly runNs: number;
  /** Time the victim's cgroups were throttled by their own CPU quota (cpu.stat). */
  readonly throttledNs: number;
  /** Wait attributed to each neighbour (key -> ns), from who ran while the victim waited. */
  readonly waitByNeighbour: ReadonlyMap<string, number>;
}

export interface IoSpan {
  readonly ops: number;
  readonly p99Ns: number | undefined;
  /** The victim's own p99 in its quietest window so far. */
  readonly baselineP99Ns: number | undefined;
  /** Disks the victim did IO on (names like vda). */
  readonly disks: readonly string[];
}

export interface MemorySpan {
  /** Stall in global direct reclaim: the node ran short of memory. */
  readonly directReclaimNs: number;
  /** Stall in cgroup reclaim: its own memory cgroup or an ancestor (e.g. kubepods) hit a limit. */
  readonly memcgReclaimNs: number;
  /** Times the victim's own cgroups hit their own limits (memory.events max+high, v1 failcnt). */
  readonly ownLimitHits: number;
}

export interface CacheSpan {
  readonly cpi: number;
  readonly baselineCpi: number;
  /** CPI²-style correlation of the victim's CPI with each neighbour's CPU time (key -> r). */
  readonly correlationByNeighbour: ReadonlyMap<string, number>;
}

export interface VictimSpan {
  readonly wallNs: number;
  readonly cpu?: CpuSpan;
  readonly io?: IoSpan;
  readonly memory?: MemorySpan;
  readonly cache?: CacheSpan;
}

export interface DiskIo {
  readonly readBytes: number;
  readonly writeBytes: number;
  readonly ops: number;
}

/** What each neighbour did in the same span. */
export interface NeighbourSpan {
  readonly ref: SubjectRef;
  /** Bytes and ops of IO per disk, charged to the neighbour as the IO's owner. */
  readonly ioByDisk: ReadonlyMap<string, DiskIo>;
  /** Growth of memory use (anonymous + page cache) over the span; negative when it shrank. */
  readonly memoryGrowthBytes: number;
}

export interface Aggressor {
  readonly ref: SubjectRef;
  readonly resource: Resource;
  /** Share of the victim's loss of this resource attributed to this neighbour, 0-1. */
  readonly share: number;
  readonly evidence: string;
}

export interface SelfInflicted {
  readonly resource: Resource;
  readonly cause: 'CPUQuota' | 'MemoryLimit';
  readonly evidence: string;
}

export interface Assessment {
  readonly verdict: Verdict;
  /** The highest resource score, 0-100. */
  readonly score: number;
  readonly scores: Partial<Record<Resource, number>>;
  readonly selfInflicted: SelfInflicted[];
  /** Ranked by share weighted with the resource's score. */
  readonly aggressors: Aggressor[];
}

/** A named resource is blamed on neighbours only when it is at least Low. */
const blameScore = 25;

export function assessVictim(victim: VictimSpan, neighbours: ReadonlyMap<string, NeighbourSpan>): Assessment {
  const scores: Partial<Record<Resource, number>> = {};
  const selfInflicted: SelfInflicted[] = [];
  const weighted: Array<{ aggressor: Aggressor; weight: number }> = [];
  const blame = (resource: Resource, score: number, list: Aggressor[]) => {
    scores[resource] = score;
    if (score < blameScore) return;
    for (const aggressor of list) weighted.push({ aggressor, weight: aggressor.share * score });
  };

  if (victim.cpu) {
    const { score, self, aggressors } = assessCpu(victim.cpu, victim.wallNs, neighbours);
    if (self) selfInflicted.push(self);
    blame('cpu', score, self ? [] : aggressors);
  }
  if (victim.io) {
    const { score, aggressors } = assessIo(victim.io, neighbours);
    if (score !== undefined) blame('io', score, aggressors);
  }
  if (victim.memory) {
    const { score, self, aggressors } = assessMemory(victim.memory, victim.wallNs, neighbours);
    if (self) selfInflicted.push(self);
    blame('memory', score, self ? [] : aggressors);
  }
  if (victim.cache) {
    const { score, aggressors } = assessCache(victim.cache, neighbours);
    blame('cache', score, aggressors);
  }
  const score = Math.max(0, ...Object.values(scores));
  weighted.sort((a, b) => b.weight - a.weight);
  return {
    verdict: verdictOf(score),
    score,
    scores,
    selfInflicted,
    aggressors: weighted.map((w) => w.aggressor),
  };
}

function assessCpu(cpu: CpuSpan, wallNs: number, neighbours: ReadonlyMap<string, NeighbourSpan>) {
  // On kernels before ~6.6 a throttled task stays on the run queue, so throttling shows up
  // as wait too; on newer ones it leaves the queue. max() counts the loss once either way.
  const lossNs = Math.max(cpu.waitNs, cpu.throttledNs);
  const score = lossNs > 0 ? scoreOf('cpu', lossNs / (lossNs + cpu.runNs)) : 0;
  let self: SelfInflicted | undefined;
  if (cpu.throttledNs > 0 && cpu.throttledNs >= selfInflictedShare * lossNs) {
    self = {
      resource: 'cpu',
      cause: 'CPUQuota',
      evidence:
        `its own CPU quota: throttled for ${formatDuration(cpu.throttledNs)} of ${formatDuration(wallNs)}; ` +
        `no neighbour is to blame`,
    };
  }
  const contributions: Contribution[] = [];
  for (const [key, ns] of cpu.waitByNeighbour) {
    const neighbour = neighbours.get(key);
    if (neighbour) contributions.push({ ref: neighbour.ref, amount: ns, detail: {} });
  }
  const aggressors = attribute('cpu', contributions, cpu.waitNs, (ns, share) => {
    return (
      `ran on the victim's CPU for ${formatDuration(ns)} of the ${formatDuration(cpu.waitNs)} ` +
      `the victim waited for it (${formatPercent(share)})`
    );
  });
  return { score, self, aggressors };
}

function assessIo(io: IoSpan, neighbours: ReadonlyMap<string, NeighbourSpan>) {
  if (io.ops < minIoOpsForP99 || io.p99Ns === undefined || io.baselineP99Ns === undefined) {
    return { score: undefined, aggressors: [] };
  }
  const ratio = io.p99Ns < ioLatencyFloorNs ? 1 : io.p99Ns / Math.max(io.baselineP99Ns, 1);
  const score = scoreOf('io', ratio);
  const contributions: Contribution[] = [];
  for (const neighbour of neighbours.values()) {
    const detail = { readBytes: 0, writeBytes: 0, ops: 0 };
    for (const disk of io.disks) {
      const d = neighbour.ioByDisk.get(disk);
      if (!d) continue;
      detail.readBytes += d.readBytes;
      detail.writeBytes += d.writeBytes;
      detail.ops += d.ops;
    }
    const bytes = detail.readBytes + detail.writeBytes;
    if (bytes > 0) contributions.push({ ref: neighbour.ref, amount: bytes, detail });
  }
  const total = contributions.reduce((sum, c) => sum + c.amount, 0);
  const aggressors = attribute('io', contributions, total, (_bytes, _share, d) => {
    const moved = [
      (d.writeBytes ?? 0) > 0 ? `wrote ${formatBytes(d.writeBytes ?? 0)}` : '',
      (d.readBytes ?? 0) > 0 ? `read ${formatBytes(d.readBytes ?? 0)}` : '',
    ].filter(Boolean);
    return (
      `${moved.join(' and ')} in ${d.ops ?? 0} IOs on ${io.disks.join(', ')} while the victim's IO p99 was ` +
      `${formatDuration(io.p99Ns ?? 0)} (baseline ${formatDuration(io.baselineP99Ns ?? 0)})`
    );
  });
  return { score, aggressors };
}

function assessMemory(memory: MemorySpan, wallNs: number, neighbours: ReadonlyMap<string, NeighbourSpan>) {
  const stallNs = memory.directReclaimNs + memory.memcgReclaimNs;
  const score = wallNs > 0 ? scoreOf('memory', stallNs / wallNs) : 0;
  let self: SelfInflicted | undefined;
  // Cgroup reclaim without the victim reaching its own limit is an ancestor's limit
  // (kubepods, the node's allocatable): its neighbours filled the shared budget.
  if (memory.ownLimitHits > 0 && memory.memcgReclaimNs >= selfInflictedShare * stallNs) {
    self = {
      resource: 'memory',
      cause: 'MemoryLimit',
      evidence:
        `its own memory limit: ${formatDuration(memory.memcgReclaimNs)} stalled reclaiming its own memory cgroup; ` +
        `no neighbour is to blame`,
    };
  }
  const contributions = [...neighbours.values()]
    .filter((n) => n.memoryGrowthBytes > 0)
    .map((n) => ({ ref: n.ref, amount: n.memoryGrowthBytes, detail: {} }));
  const total = contributions.reduce((sum, c) => sum + c.amount, 0);
  const aggressors = attribute('memory', contributions, total, (bytes) => {
    return (
      `grew by ${formatBytes(bytes)} while the victim stalled ${formatDuration(stallNs)} ` +
      `reclaiming memory it had not exhausted itself`
    );
  });
  return { score, self, aggressors };
}

function assessCache(cache: CacheSpan, neighbours: ReadonlyMap<string, NeighbourSpan>) {
  const score = cache.baselineCpi > 0 ? scoreOf('cache', cache.cpi / cache.baselineCpi) : 0;
  const positive = [...cache.correlationByNeighbour.entries()].filter(([, r]) => r > 0);
  const total = positive.reduce((sum, [, r]) => sum + r, 0);
  const aggressors: Aggressor[] = [];
  for (const [key, r] of positive) {
    const neighbour = neighbours.get(key);
    const share = r / total;
    if (!neighbour || share < minAggressorShare) continue;
    aggressors.push({
      ref: neighbour.ref,
      resource: 'cache',
      share,
      evidence:
        `its CPU time rises with the victim's CPI (correlation ${r.toFixed(2)}); ` +
        `victim CPI ${cache.cpi.toFixed(2)} against a baseline of ${cache.baselineCpi.toFixed(2)}`,
    });
  }
  return { score, aggressors };
}

interface Contribution {
  readonly ref: SubjectRef;
  /** What the neighbour took from the victim (ns of CPU, bytes of IO, bytes of memory). */
  readonly amount: number;
  /** Figures for its evidence sentence; summed when pods are grouped. */
  readonly detail: Readonly<Record<string, number>>;
}

type Describe = (amount: number, share: number, detail: Readonly<Record<string, number>>) => string;

/** Ranks neighbours by their share of `total`. Pods of one controller (a Job's stream of
 * short-lived pods, a ReplicaSet's replicas) count together: each alone may take too
 * little to be named, the workload does not. The group is named by its largest pod. */
function attribute(resource: Resource, contributions: readonly Contribution[], total: number, describe: Describe) {
  const groups = new Map<string, Contribution[]>();
  for (const c of contributions) {
    const key = groupKey(c.ref);
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const aggressors: Aggressor[] = [];
  for (const members of groups.values()) {
    members.sort((a, b) => b.amount - a.amount);
    const amount = members.reduce((sum, c) => sum + c.amount, 0);
    const share = total > 0 ? amount / total : 0;
    if (share < minAggressorShare) continue;
    const detail: Record<string, number> = {};
    for (const m of members) for (const [k, v] of Object.entries(m.detail)) detail[k] = (detail[k] ?? 0) + v;
    const top = members[0]!.ref;
    let evidence = describe(amount, share, detail);
    if (members.length > 1 && top.kind === 'Pod' && top.owner) {
      evidence = `with ${members.length - 1} more pods of ${top.owner.kind} ${top.namespace}/${top.owner.name}: ${evidence}`;
    }
    aggressors.push({ ref: top, resource, share, evidence });
  }
  return aggressors;
}

function groupKey(ref: SubjectRef): string {
  if (ref.kind === 'Cgroup') return `cgroup:${ref.path}`;
  return ref.owner ? `owner:${ref.namespace}/${ref.owner.kind}/${ref.owner.name}` : `pod:${ref.uid}`;
}
