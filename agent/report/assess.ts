// Turns one victim's measurements over a span (a window, or the session so far) into its
// report: a score per resource for the harm its neighbours did, a verdict, the loss its
// own limits caused (reported apart, never as interference), and the neighbours to
// blame, ranked, each with the share of the loss and the evidence for it.
//
// Harm is measured directly, never against the victim's own quiet past (a session
// usually starts after the aggressor did): CPU, the run-queue wait of the victim while
// others held its CPU; IO, the time its requests were in flight beside others' on the
// same device; memory, the reclaim stall it did not cause itself, charged to whoever
// holds the memory. Only cache (CPI) needs a baseline, from windows without contention.
import { formatBytes, formatDuration, formatPercent } from './format.js';
import {
  ioJitterNs,
  minAggressorShare,
  minIoOpsForP99,
  type Resource,
  scoreOf,
  waitSizeScore,
  type Verdict,
  verdictOf,
} from './thresholds.js';

/** Who a neighbour is: a pod, a cgroup no pod owns (system services, kubelet), or a
 * thread of the root cgroup (kernel threads and processes outside any cgroup). */
export type SubjectRef =
  | {
      readonly kind: 'Pod';
      readonly namespace: string;
      readonly name: string;
      readonly uid: string;
      /** The pod's controller (Job, ReplicaSet...), or for a bare pod its application
       * label (kind `app`): its pods are judged together. */
      readonly owner?: { readonly kind: string; readonly name: string };
    }
  | { readonly kind: 'Cgroup'; readonly path: string }
  | { readonly kind: 'Thread'; readonly pid: number; readonly name: string };

export interface CpuSpan {
  /** Run-queue wait of the victim's tasks behind other subjects' tasks: without the
   * wakeup latency of an idle CPU and without waits behind the victim's own tasks. */
  readonly waitNs: number;
  /** Time the victim's tasks ran. */
  readonly runNs: number;
  /** Time the victim's cgroups were throttled by their own CPU quota (cpu.stat). */
  readonly throttledNs: number;
  /** 99th percentile of a single wait (upper bound of its log2 bucket). */
  readonly p99WaitNs: number | undefined;
  /** Wait attributed to each neighbour (key -> ns), from who ran while the victim waited. */
  readonly waitByNeighbour: ReadonlyMap<string, number>;
  /** The part of waitByNeighbour during which kernel threads wrote back the neighbour's
   * dirty pages: the neighbour held the CPU by them. */
  readonly writebackByNeighbour: ReadonlyMap<string, number>;
}

export interface IoSpan {
  readonly ops: number;
  readonly p99Ns: number | undefined;
  /** Time its requests were in flight, summed over requests. */
  readonly requestNs: number;
  /** Part of requestNs with other subjects' requests in flight on the same device. */
  readonly delayedNs: number;
  /** delayedNs by the subject whose requests were in flight (key -> ns). */
  readonly delayByNeighbour: ReadonlyMap<string, number>;
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
  /** Its CPI in windows without contention; undefined until such a window was seen (the
   * cache resource is not scored until then: a contended window is never a baseline). */
  readonly baselineCpi: number | undefined;
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
  /** Memory it held beyond its requests, on average over the span. */
  readonly memoryOverRequestBytes: number;
  /** Growth of memory use (anonymous + page cache) over the span; negative when it shrank. */
  readonly memoryGrowthBytes: number;
}

/** How the victim's figures are to be read. */
export interface AssessOptions {
  /** A single run-queue wait this long counts as full harm (spec.probes.cpu.runqLatencyThreshold). */
  readonly runqThresholdNs: number;
}

export const defaultAssessOptions: AssessOptions = { runqThresholdNs: 5e6 };

export interface Aggressor {
  readonly ref: SubjectRef;
  readonly resource: Resource;
  /** For io: the victim's disk where this neighbour did most IO (where to restrain it). */
  readonly disk?: string;
  /** Share of the victim's loss of this resource attributed to this neighbour, 0-1. */
  readonly share: number;
  readonly evidence: string;
}

export interface SelfInflicted {
  readonly resource: Resource;
  readonly cause: 'CPUQuota' | 'MemoryLimit';
  /** Time lost to its own limit, and that as a share of wall time. */
  readonly lostNs: number;
  readonly share: number;
  readonly evidence: string;
}

export interface Assessment {
  /** Harm done by neighbours: loss the victim causes itself never raises it. */
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
/** Own-limit loss is reported when it would be at least Low as interference. */
const reportSelfScore = 25;

export function assessVictim(
  victim: VictimSpan,
  neighbours: ReadonlyMap<string, NeighbourSpan>,
  options: AssessOptions = defaultAssessOptions,
): Assessment {
  const scores: Partial<Record<Resource, number>> = {};
  const selfInflicted: SelfInflicted[] = [];
  const weighted: Array<{ aggressor: Aggressor; weight: number }> = [];
  const judge = (resource: Resource, r: { score: number; self?: SelfInflicted; aggressors: Aggressor[] }) => {
    scores[resource] = r.score;
    if (r.self) selfInflicted.push(r.self);
    if (r.score < blameScore) return;
    for (const aggressor of r.aggressors) weighted.push({ aggressor, weight: aggressor.share * r.score });
  };

  if (victim.cpu) judge('cpu', assessCpu(victim.cpu, victim.wallNs, neighbours, options));
  if (victim.io) {
    const io = assessIo(victim.io, neighbours);
    if (io) judge('io', io);
  }
  if (victim.memory) judge('memory', assessMemory(victim.memory, victim.wallNs, neighbours));
  if (victim.cache) judge('cache', assessCache(victim.cache, neighbours));
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

function assessCpu(
  cpu: CpuSpan,
  wallNs: number,
  neighbours: ReadonlyMap<string, NeighbourSpan>,
  options: AssessOptions,
) {
  // The probe does not count a wait its own quota imposed (cpu.bpf.c): every wait left
  // was behind someone else's task.
  const contributions: Contribution[] = [];
  for (const [key, ns] of cpu.waitByNeighbour) {
    const neighbour = neighbours.get(key);
    if (neighbour)
      contributions.push({
        ref: neighbour.ref,
        amount: ns,
        detail: { writebackNs: cpu.writebackByNeighbour.get(key) ?? 0 },
      });
  }
  // Waits older than the attribution ring are harm too, by someone it can no longer name.
  const harmNs = cpu.waitNs;
  // Both the share of the time it wanted a CPU and the size of single waits: a light
  // service that waits 30 µs now and then is not harmed, whatever the share.
  const shareScore = harmNs > 0 ? scoreOf('cpu', harmNs / (harmNs + cpu.runNs)) : 0;
  const score = Math.min(shareScore, waitSizeScore(cpu.p99WaitNs ?? 0, options.runqThresholdNs));
  const throttledShare = cpu.throttledNs / (cpu.throttledNs + cpu.runNs || 1);
  const self: SelfInflicted | undefined =
    cpu.throttledNs > 0 && scoreOf('cpu', throttledShare) >= reportSelfScore
      ? {
          resource: 'cpu',
          cause: 'CPUQuota',
          lostNs: cpu.throttledNs,
          share: wallNs > 0 ? cpu.throttledNs / wallNs : 0,
          evidence: `its own CPU quota: throttled for ${formatDuration(cpu.throttledNs)} of ${formatDuration(wallNs)}`,
        }
      : undefined;
  const aggressors = attribute('cpu', contributions, harmNs, (ns, share, detail, members) => {
    const who = threadsOf(members);
    const writebackNs = detail.writebackNs ?? 0;
    const writeback =
      writebackNs > 0 ? `${formatDuration(writebackNs)} of it kernel threads writing back its dirty pages; ` : '';
    return (
      `${who}ran on the victim's CPU for ${formatDuration(ns)} of the ${formatDuration(harmNs)} ` +
      `the victim waited for it (${formatPercent(share)}; ${writeback}single waits p99 ${formatDuration(cpu.p99WaitNs ?? 0)})`
    );
  });
  return { score, ...(self ? { self } : {}), aggressors };
}

function assessIo(io: IoSpan, neighbours: ReadonlyMap<string, NeighbourSpan>) {
  if (io.ops < minIoOpsForP99 || io.p99Ns === undefined || io.requestNs <= 0) return undefined;
  // Overlap shorter than a fast device's service time is no harm, whoever else was in flight.
  const share = io.delayedNs / io.ops < ioJitterNs ? 0 : io.delayedNs / io.requestNs;
  const score = scoreOf('io', share);
  const contributions: Contribution[] = [];
  for (const [key, ns] of io.delayByNeighbour) {
    const neighbour = neighbours.get(key);
    if (!neighbour) continue;
    const detail = { readBytes: 0, writeBytes: 0, ops: 0 };
    for (const disk of io.disks) {
      const d = neighbour.ioByDisk.get(disk);
      if (!d) continue;
      detail.readBytes += d.readBytes;
      detail.writeBytes += d.writeBytes;
      detail.ops += d.ops;
    }
    contributions.push({ ref: neighbour.ref, amount: ns, detail });
  }
  const aggressors = attribute('io', contributions, io.delayedNs, (ns, _share, d) => {
    const moved = [
      (d.writeBytes ?? 0) > 0 ? `wrote ${formatBytes(d.writeBytes ?? 0)}` : '',
      (d.readBytes ?? 0) > 0 ? `read ${formatBytes(d.readBytes ?? 0)}` : '',
    ].filter(Boolean);
    return (
      `its IO was in flight beside the victim's for ${formatDuration(ns)} of the victim's ` +
      `${formatDuration(io.requestNs)} of IO on ${io.disks.join(', ')}` +
      (moved.length ? ` (${moved.join(' and ')} in ${d.ops ?? 0} IOs)` : '')
    );
  });
  const busiestDisk = (ref: SubjectRef) => {
    const n = [...neighbours.values()].find((x) => x.ref === ref);
    const bytes = (disk: string) => (n?.ioByDisk.get(disk)?.readBytes ?? 0) + (n?.ioByDisk.get(disk)?.writeBytes ?? 0);
    return [...io.disks].sort((a, b) => bytes(b) - bytes(a))[0];
  };
  return {
    score,
    aggressors: aggressors.map((a) => {
      const disk = busiestDisk(a.ref);
      return disk ? { ...a, disk } : a;
    }),
  };
}

function assessMemory(memory: MemorySpan, wallNs: number, neighbours: ReadonlyMap<string, NeighbourSpan>) {
  // Cgroup reclaim without the victim reaching its own limit is an ancestor's limit
  // (kubepods, the node's allocatable): its neighbours filled the shared budget.
  const own = memory.ownLimitHits > 0 && memory.memcgReclaimNs > 0;
  const harmNs = memory.directReclaimNs + (own ? 0 : memory.memcgReclaimNs);
  const score = wallNs > 0 ? scoreOf('memory', harmNs / wallNs) : 0;
  const self: SelfInflicted | undefined =
    own && scoreOf('memory', memory.memcgReclaimNs / (wallNs || 1)) >= reportSelfScore
      ? {
          resource: 'memory',
          cause: 'MemoryLimit',
          lostNs: memory.memcgReclaimNs,
          share: wallNs > 0 ? memory.memcgReclaimNs / wallNs : 0,
          evidence: `its own memory limit: stalled ${formatDuration(memory.memcgReclaimNs)} reclaiming its own memory cgroup`,
        }
      : undefined;
  // Who holds the shared budget: memory beyond what each neighbour asked for.
  const contributions = [...neighbours.values()]
    .filter((n) => n.memoryOverRequestBytes > 0)
    .map((n) => ({
      ref: n.ref,
      amount: n.memoryOverRequestBytes,
      detail: { growth: Math.max(0, n.memoryGrowthBytes) },
    }));
  const total = contributions.reduce((sum, c) => sum + c.amount, 0);
  const aggressors = attribute('memory', contributions, total, (bytes, share, d) => {
    const grew = (d.growth ?? 0) > 0 ? `, grew by ${formatBytes(d.growth ?? 0)}` : '';
    return (
      `held ${formatBytes(bytes)} beyond its requests (${formatPercent(share)} of what neighbours held${grew}) ` +
      `while the victim stalled ${formatDuration(harmNs)} in reclaim it did not cause itself`
    );
  });
  return { score, ...(self ? { self } : {}), aggressors };
}

function assessCache(cache: CacheSpan, neighbours: ReadonlyMap<string, NeighbourSpan>) {
  const baseline = cache.baselineCpi;
  if (baseline === undefined || baseline <= 0) return { score: 0, aggressors: [] };
  const score = scoreOf('cache', cache.cpi / baseline);
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
        `its CPU time rises with the victim's CPI (correlation ${r.toFixed(2)}); victim CPI ` +
        `${cache.cpi.toFixed(2)} against ${baseline.toFixed(2)} in windows without contention`,
    });
  }
  return { score, aggressors };
}

interface Contribution {
  readonly ref: SubjectRef;
  /** What the neighbour took from the victim (ns of CPU, ns of IO delay, bytes of memory). */
  readonly amount: number;
  /** Figures for its evidence sentence; summed when pods are grouped. */
  readonly detail: Readonly<Record<string, number>>;
}

type Describe = (
  amount: number,
  share: number,
  detail: Readonly<Record<string, number>>,
  members: readonly Contribution[],
) => string;

/** Ranks neighbours by their share of `total`. Pods of one workload (a Job's stream of
 * short-lived pods, a ReplicaSet's replicas, bare pods sharing an app label) count
 * together: each alone may take too little to be named, the workload does not. The
 * threads of the root cgroup count as "/", their names in the evidence. A group is named
 * by its largest member. */
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
    let evidence = describe(amount, share, detail, members);
    if (members.length > 1 && top.kind === 'Pod' && top.owner) {
      const of =
        top.owner.kind === 'app'
          ? `labelled app=${top.owner.name}`
          : `of ${top.owner.kind} ${top.namespace}/${top.owner.name}`;
      evidence = `with ${members.length - 1} more pods ${of}: ${evidence}`;
    }
    aggressors.push({ ref: top.kind === 'Thread' ? rootCgroup : top, resource, share, evidence });
  }
  return aggressors;
}

const rootCgroup: SubjectRef = { kind: 'Cgroup', path: '/' };

function groupKey(ref: SubjectRef): string {
  switch (ref.kind) {
    case 'Cgroup':
      return `cgroup:${ref.path}`;
    case 'Thread':
      return 'cgroup:/';
    case 'Pod':
      return ref.owner ? `owner:${ref.namespace}/${ref.owner.kind}/${ref.owner.name}` : `pod:${ref.uid}`;
  }
}

/** "threads kworker/1:1 (120 ms), node ×2 (30 ms) " for a group of root threads: threads
 * of one name count together. */
function threadsOf(members: readonly Contribution[]): string {
  const byName = new Map<string, { ns: number; threads: number }>();
  for (const m of members) {
    if (m.ref.kind !== 'Thread') continue;
    const named = byName.get(m.ref.name) ?? { ns: 0, threads: 0 };
    named.ns += m.amount;
    named.threads++;
    byName.set(m.ref.name, named);
  }
  if (byName.size === 0) return '';
  const top = [...byName].sort((a, b) => b[1].ns - a[1].ns);
  const named = top
    .slice(0, 3)
    .map(([name, t]) => `${name}${t.threads > 1 ? ` ×${t.threads}` : ''} (${formatDuration(t.ns)})`)
    .join(', ');
  return `threads ${named}${top.length > 3 ? ` and ${top.length - 3} more` : ''} `;
}
