// Turns the kernel's cumulative counters into one window of deltas. Pure: the caller
// keeps the snapshot between reads. A dead cgroup's record arrives once more with its
// final counters (dead: true) and leaves the snapshot; the C library then deletes its
// map entries, so if the id shows up again its counters restart from zero, which the
// snapshot (no longer holding it) treats as new.
import { ioOps, limits, nameOf, recordFlags } from '../native/constants.js';
import { probeNames, type ProbeName, type RawRecord, type RawSections } from '../native/index.js';
import type {
  BlockDevice,
  CacheCounters,
  CacheTaskCounters,
  CpuUsage,
  Holder,
  IoDelay,
  IoLatency,
  IoOp,
  IoTraffic,
  ProbeHealth,
  ProbeWindow,
  ReclaimStalls,
  RunqueueWaits,
  WaitShare,
} from '../probes/types.js';

/** Cumulative values by record key, as of the previous read. */
export type Snapshot = ReadonlyMap<string, readonly bigint[]>;

export interface WindowContext {
  readonly startNs: bigint;
  readonly endNs: bigint;
  /** Active probes and the hierarchy their cgroup ids belong to. */
  readonly active: ReadonlyMap<ProbeName, number | undefined>;
  /** The cache probe counts per process and CPU too. */
  readonly cacheByTask?: boolean;
}

class Deltas {
  readonly next = new Map<string, readonly bigint[]>();

  constructor(private readonly previous: Snapshot) {}

  /** Deltas since the previous read, or undefined for a live record that did not change. */
  of(key: string, values: readonly bigint[], dead: boolean): number[] | undefined {
    const before = this.previous.get(key);
    // A value below the snapshot means the entry was deleted and counts again from 0.
    const deltas = values.map((v, i) => Number(v >= (before?.[i] ?? 0n) ? v - (before?.[i] ?? 0n) : v));
    if (dead) return deltas;
    this.next.set(key, values);
    return deltas.some((d) => d !== 0) ? deltas : undefined;
  }
}

const isDead = (flags: number) => (flags & recordFlags.dead) !== 0;

export function deviceOf(dev: number): BlockDevice {
  return { major: dev >>> 20, minor: dev & 0xfffff };
}

export function ioOpOf(op: number): IoOp {
  return nameOf(ioOps, op) ?? 'other';
}

function cpuUsage(d: Deltas, r: RawRecord<'cpuCgroupRecord'>): CpuUsage | undefined {
  const dead = isDead(r.flags);
  const v = d.of(`cpu:${r.cgroupId}`, [r.oncpuNs, r.slices, r.involuntary], dead);
  if (!v) return undefined;
  const [oncpuNs = 0, slices = 0, involuntary = 0] = v;
  return { cgroupId: r.cgroupId, oncpuNs, slices, involuntary, dead };
}

function runqueueWaits(d: Deltas, r: RawRecord<'runqVictimRecord'>): RunqueueWaits | undefined {
  const dead = isDead(r.flags);
  const v = d.of(`runq:${r.cgroupId}`, [r.waitNs, r.waits, r.unattributedNs, ...r.hist], dead);
  if (!v) return undefined;
  const [waitNs = 0, waits = 0, unattributedNs = 0, ...histogram] = v;
  return { cgroupId: r.cgroupId, waitNs, waits, unattributedNs, histogram, dead };
}

const threadBit = 1n << BigInt(limits.holderThreadBit);
const writebackBit = 1n << BigInt(limits.holderWritebackBit);

/** A holder key of the cpu probe (cpu.h CT_HOLDER_*). */
export function holderOf(key: bigint): Holder {
  if (key === 0n) return { kind: 'idle' };
  if (key & threadBit) return { kind: 'thread', pid: Number(key & (threadBit - 1n)) };
  if (key & writebackBit) return { kind: 'writeback', id: key & (writebackBit - 1n) };
  return { kind: 'cgroup', id: key };
}

function waitShare(d: Deltas, r: RawRecord<'waitPairRecord'>): WaitShare | undefined {
  const dead = isDead(r.flags);
  const v = d.of(`pair:${r.victim}:${r.aggressor}`, [r.waitNs], dead);
  if (!v) return undefined;
  const [waitNs = 0] = v;
  return { victim: r.victim, aggressor: holderOf(r.aggressor), waitNs, dead };
}

type IoKeyed = Pick<RawRecord<'ioStatsRecord'>, 'cgroupId' | 'dev' | 'op' | 'sync'>;

const ioKey = (r: IoKeyed) => `${r.cgroupId}:${r.dev}:${r.op}:${r.sync}`;

function ioTraffic(d: Deltas, r: RawRecord<'ioStatsRecord'>): IoTraffic | undefined {
  const dead = isDead(r.flags);
  const v = d.of(`io:${ioKey(r)}`, [r.ops, r.bytes], dead);
  if (!v) return undefined;
  const [ops = 0, bytes = 0] = v;
  return { cgroupId: r.cgroupId, device: deviceOf(r.dev), op: ioOpOf(r.op), sync: r.sync !== 0, ops, bytes, dead };
}

function ioLatency(d: Deltas, r: RawRecord<'ioLatencyRecord'>): IoLatency | undefined {
  const dead = isDead(r.flags);
  const slots = r.totalHist.length;
  const v = d.of(
    `iolat:${ioKey(r)}`,
    [r.count, r.totalNs, r.deviceNs, r.delayedNs, r.unattributedNs, ...r.totalHist, ...r.deviceHist],
    dead,
  );
  if (!v) return undefined;
  const [count = 0, totalNs = 0, deviceNs = 0, delayedNs = 0, unattributedNs = 0, ...histograms] = v;
  return {
    cgroupId: r.cgroupId,
    device: deviceOf(r.dev),
    op: ioOpOf(r.op),
    sync: r.sync !== 0,
    count,
    totalNs,
    deviceNs,
    delayedNs,
    unattributedNs,
    totalHistogram: histograms.slice(0, slots),
    deviceHistogram: histograms.slice(slots),
    dead,
  };
}

function ioDelay(d: Deltas, r: RawRecord<'ioDelayRecord'>): IoDelay | undefined {
  const dead = isDead(r.flags);
  const v = d.of(`iodelay:${r.victim}:${r.holder}:${r.dev}`, [r.ns, r.requests], dead);
  if (!v) return undefined;
  const [ns = 0, requests = 0] = v;
  return { victim: r.victim, holder: r.holder, device: deviceOf(r.dev), ns, requests, dead };
}

function reclaimStalls(d: Deltas, r: RawRecord<'reclaimRecord'>): ReclaimStalls | undefined {
  const dead = isDead(r.flags);
  // [direct, memcg] per field (enum ct_reclaim_kind).
  const v = d.of(`reclaim:${r.cgroupId}`, [...r.stallNs, ...r.count, ...r.pages], dead);
  if (!v) return undefined;
  const [directNs = 0, memcgNs = 0, directCount = 0, memcgCount = 0, directPages = 0, memcgPages = 0] = v;
  return {
    cgroupId: r.cgroupId,
    direct: { stallNs: directNs, count: directCount, pages: directPages },
    memcg: { stallNs: memcgNs, count: memcgCount, pages: memcgPages },
    dead,
  };
}

function cacheCounters(d: Deltas, r: RawRecord<'cacheRecord'>): CacheCounters | undefined {
  const dead = isDead(r.flags);
  // enum ct_cache_counter order.
  const v = d.of(`cache:${r.cgroupId}`, r.counts, dead);
  if (!v) return undefined;
  const [llcReferences = 0, llcMisses = 0, cycles = 0, instructions = 0] = v;
  return { cgroupId: r.cgroupId, llcReferences, llcMisses, cycles, instructions, dead };
}

function cacheTask(d: Deltas, r: RawRecord<'cacheTaskRecord'>): CacheTaskCounters | undefined {
  const v = d.of(`cachetask:${r.pid}:${r.cpu}`, r.counts, false);
  if (!v) return undefined;
  const [llcReferences = 0, llcMisses = 0, cycles = 0, instructions = 0] = v;
  return { pid: r.pid, cpu: r.cpu, comm: r.comm, llcReferences, llcMisses, cycles, instructions };
}

function probeHealth(d: Deltas, r: RawRecord<'healthRecord'>): ProbeHealth | undefined {
  const probe = probeNames[r.probe];
  if (probe === undefined) return undefined;
  const values = [r.mapFull, r.eventsDropped, r.stackErrors, r.readErrors, r.queueDropped, r.stacksLost];
  const [mapFull = 0, eventsDropped = 0, stackErrors = 0, readErrors = 0, queueDropped = 0, stacksLost = 0] =
    d.of(`health:${probe}`, values, false) ?? [];
  return { probe, mapFull, eventsDropped, stackErrors, readErrors, queueDropped, stacksLost };
}

function present<T>(values: (T | undefined)[]): T[] {
  return values.filter((v): v is T => v !== undefined);
}

/** The window between the previous read (snapshot) and this one (raw). */
export function diffWindow(
  previous: Snapshot,
  raw: RawSections,
  context: WindowContext,
): { window: ProbeWindow; snapshot: Snapshot } {
  const d = new Deltas(previous);
  const hierarchy = (probe: ProbeName) => context.active.get(probe) ?? 0;
  const window: ProbeWindow = {
    startNs: context.startNs,
    endNs: context.endNs,
    durationNs: Number(context.endNs - context.startNs),
    ...(context.active.has('cpu')
      ? {
          cpu: {
            hierarchyId: hierarchy('cpu'),
            usage: present(raw.cpuCgroups.map((r) => cpuUsage(d, r))),
            victims: present(raw.runqVictims.map((r) => runqueueWaits(d, r))),
            attribution: present(raw.waitPairs.map((r) => waitShare(d, r))),
          },
        }
      : {}),
    ...(context.active.has('io')
      ? {
          io: {
            hierarchyId: hierarchy('io'),
            traffic: present(raw.ioStats.map((r) => ioTraffic(d, r))),
            latency: present(raw.ioLatency.map((r) => ioLatency(d, r))),
            delays: present(raw.ioDelays.map((r) => ioDelay(d, r))),
          },
        }
      : {}),
    ...(context.active.has('memory')
      ? { memory: { hierarchyId: hierarchy('memory'), stalls: present(raw.reclaim.map((r) => reclaimStalls(d, r))) } }
      : {}),
    ...(context.active.has('cache')
      ? {
          cache: {
            hierarchyId: hierarchy('cache'),
            counters: present(raw.cache.map((r) => cacheCounters(d, r))),
            ...(context.cacheByTask ? { tasks: present(raw.cacheTasks.map((r) => cacheTask(d, r))) } : {}),
          },
        }
      : {}),
    health: present(raw.health.map((r) => probeHealth(d, r))),
  };
  return { window, snapshot: d.next };
}
