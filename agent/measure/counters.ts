// What one subject (a pod, or a cgroup no pod owns) did over a span of time, summed from
// the probes' windows: the unit the agent accumulates into reporting windows and into the
// session so far. Pure data plus the arithmetic to add spans together.
import { z } from 'zod';

import type { SubjectRef } from '../report/assess.js';

export interface ReclaimCounters {
  stallNs: number;
  count: number;
  pages: number;
}

export interface DiskTraffic {
  readBytes: number;
  writeBytes: number;
  ops: number;
}

export interface SubjectCounters {
  readonly ref: SubjectRef;
  cpu: {
    oncpuNs: number;
    involuntary: number;
    /** Run-queue wait (victims only: the probe measures targets). */
    waitNs: number;
    /** The part of waitNs spent on a CPU that was idle (wakeup latency, no one to blame). */
    idleWaitNs: number;
    waits: number;
    unattributedNs: number;
    /** log2 µs histogram of single waits (agent/probes/types.ts layout). */
    waitHistogram: number[];
    /** Wait while another subject held the CPU, by that subject's key. */
    waitBy: Map<string, number>;
    /** The part of waitBy held by kernel threads writing back that subject's dirty pages. */
    writebackBy: Map<string, number>;
  };
  io: {
    /** Traffic this subject owned, by disk name. */
    byDisk: Map<string, DiskTraffic>;
    /** Latency of its completed IOs (victims only), insert (or issue) to completion. */
    completed: number;
    latencyHistogram: number[];
    /** Time its requests were in flight (victims only), summed over requests. */
    requestNs: number;
    /** Part of requestNs during which other subjects' requests were in flight beside them. */
    delayedNs: number;
    /** Part of delayedNs whose owner the probe could not tell. */
    unattributedDelayNs: number;
    /** delayedNs split among the subjects whose requests were in flight, by their key. */
    delayBy: Map<string, number>;
  };
  memory: { direct: ReclaimCounters; memcg: ReclaimCounters };
  cache: { cycles: number; instructions: number; llcReferences: number; llcMisses: number };
  /** From the cgroup control files (agent/cgroups/files.ts), pods only. */
  files: {
    throttledNs: number;
    memoryGrowthBytes: number;
    memoryLimitHits: number;
    /** Memory held beyond the pod's requests, summed over samples (with their count:
     * the average is what the pod held over the span). */
    memoryOverRequestSum: number;
    memorySamples: number;
  };
  /** Pressure stall time of the pod's cgroup (cgroup v2 only), µs. */
  psi: Record<'cpu' | 'io' | 'memory', { someUs: number; fullUs: number }> | undefined;
}

export function emptyCounters(ref: SubjectRef): SubjectCounters {
  return {
    ref,
    cpu: {
      oncpuNs: 0,
      involuntary: 0,
      waitNs: 0,
      idleWaitNs: 0,
      waits: 0,
      unattributedNs: 0,
      waitHistogram: [],
      waitBy: new Map(),
      writebackBy: new Map(),
    },
    io: {
      byDisk: new Map(),
      completed: 0,
      latencyHistogram: [],
      requestNs: 0,
      delayedNs: 0,
      unattributedDelayNs: 0,
      delayBy: new Map(),
    },
    memory: { direct: { stallNs: 0, count: 0, pages: 0 }, memcg: { stallNs: 0, count: 0, pages: 0 } },
    cache: { cycles: 0, instructions: 0, llcReferences: 0, llcMisses: 0 },
    files: { throttledNs: 0, memoryGrowthBytes: 0, memoryLimitHits: 0, memoryOverRequestSum: 0, memorySamples: 0 },
    psi: undefined,
  };
}

/** Adds `from` into `into` (same subject). */
export function addCounters(into: SubjectCounters, from: SubjectCounters): void {
  const c = into.cpu;
  c.oncpuNs += from.cpu.oncpuNs;
  c.involuntary += from.cpu.involuntary;
  c.waitNs += from.cpu.waitNs;
  c.idleWaitNs += from.cpu.idleWaitNs;
  c.waits += from.cpu.waits;
  c.unattributedNs += from.cpu.unattributedNs;
  addHistogram(c.waitHistogram, from.cpu.waitHistogram);
  addByKey(c.waitBy, from.cpu.waitBy);
  addByKey(c.writebackBy, from.cpu.writebackBy);
  for (const [disk, t] of from.io.byDisk) addDiskTraffic(into.io.byDisk, disk, t);
  into.io.completed += from.io.completed;
  addHistogram(into.io.latencyHistogram, from.io.latencyHistogram);
  into.io.requestNs += from.io.requestNs;
  into.io.delayedNs += from.io.delayedNs;
  into.io.unattributedDelayNs += from.io.unattributedDelayNs;
  addByKey(into.io.delayBy, from.io.delayBy);
  addReclaim(into.memory.direct, from.memory.direct);
  addReclaim(into.memory.memcg, from.memory.memcg);
  into.cache.cycles += from.cache.cycles;
  into.cache.instructions += from.cache.instructions;
  into.cache.llcReferences += from.cache.llcReferences;
  into.cache.llcMisses += from.cache.llcMisses;
  into.files.throttledNs += from.files.throttledNs;
  into.files.memoryGrowthBytes += from.files.memoryGrowthBytes;
  into.files.memoryLimitHits += from.files.memoryLimitHits;
  into.files.memoryOverRequestSum += from.files.memoryOverRequestSum;
  into.files.memorySamples += from.files.memorySamples;
  if (from.psi) {
    into.psi ??= { cpu: { someUs: 0, fullUs: 0 }, io: { someUs: 0, fullUs: 0 }, memory: { someUs: 0, fullUs: 0 } };
    for (const r of ['cpu', 'io', 'memory'] as const) {
      into.psi[r].someUs += from.psi[r].someUs;
      into.psi[r].fullUs += from.psi[r].fullUs;
    }
  }
}

/** Adds amounts by key (ns waited or delayed behind each holder). */
export function addByKey(into: Map<string, number>, from: ReadonlyMap<string, number>): void {
  for (const [key, n] of from) into.set(key, (into.get(key) ?? 0) + n);
}

export function addHistogram(into: number[], from: readonly number[]): void {
  for (const [slot, n] of from.entries()) into[slot] = (into[slot] ?? 0) + (n ?? 0);
}

export function addDiskTraffic(into: Map<string, DiskTraffic>, disk: string, t: DiskTraffic): void {
  const d = into.get(disk) ?? { readBytes: 0, writeBytes: 0, ops: 0 };
  d.readBytes += t.readBytes;
  d.writeBytes += t.writeBytes;
  d.ops += t.ops;
  into.set(disk, d);
}

function addReclaim(into: ReclaimCounters, from: ReclaimCounters): void {
  into.stallNs += from.stallNs;
  into.count += from.count;
  into.pages += from.pages;
}

/** Adds every subject of `from` into `into`, creating the missing ones. */
export function addAll(into: Map<string, SubjectCounters>, from: ReadonlyMap<string, SubjectCounters>): void {
  for (const [key, counters] of from) {
    const existing = into.get(key);
    if (existing) addCounters(existing, counters);
    else {
      const copy = emptyCounters(counters.ref);
      addCounters(copy, counters);
      into.set(key, copy);
    }
  }
}

const reclaimJson = z.object({ stallNs: z.number(), count: z.number(), pages: z.number() });
const psiPairJson = z.object({ someUs: z.number(), fullUs: z.number() });
const refJson = z.union([
  z.object({
    kind: z.literal('Pod'),
    namespace: z.string(),
    name: z.string(),
    uid: z.string(),
    owner: z.object({ kind: z.string(), name: z.string() }).optional(),
  }),
  z.object({ kind: z.literal('Cgroup'), path: z.string() }),
  z.object({ kind: z.literal('Thread'), pid: z.number(), name: z.string() }),
]);

/** SubjectCounters as JSON (maps as entry lists), for the agent's restart state. */
export const countersJson = z.object({
  ref: refJson,
  cpu: z.object({
    oncpuNs: z.number(),
    involuntary: z.number(),
    waitNs: z.number(),
    idleWaitNs: z.number(),
    waits: z.number(),
    unattributedNs: z.number(),
    waitHistogram: z.array(z.number()),
    waitBy: z.array(z.tuple([z.string(), z.number()])),
    // Absent from the state of agents older than writeback attribution.
    writebackBy: z.array(z.tuple([z.string(), z.number()])).default([]),
  }),
  io: z.object({
    byDisk: z.array(
      z.tuple([z.string(), z.object({ readBytes: z.number(), writeBytes: z.number(), ops: z.number() })]),
    ),
    completed: z.number(),
    latencyHistogram: z.array(z.number()),
    requestNs: z.number(),
    delayedNs: z.number(),
    unattributedDelayNs: z.number(),
    delayBy: z.array(z.tuple([z.string(), z.number()])),
  }),
  memory: z.object({ direct: reclaimJson, memcg: reclaimJson }),
  cache: z.object({ cycles: z.number(), instructions: z.number(), llcReferences: z.number(), llcMisses: z.number() }),
  files: z.object({
    throttledNs: z.number(),
    memoryGrowthBytes: z.number(),
    memoryLimitHits: z.number(),
    memoryOverRequestSum: z.number(),
    memorySamples: z.number(),
  }),
  psi: z.object({ cpu: psiPairJson, io: psiPairJson, memory: psiPairJson }).optional(),
});
export type CountersJson = z.output<typeof countersJson>;

export function countersToJson(c: SubjectCounters): CountersJson {
  return {
    ...c,
    cpu: {
      ...c.cpu,
      waitHistogram: dense(c.cpu.waitHistogram),
      waitBy: [...c.cpu.waitBy],
      writebackBy: [...c.cpu.writebackBy],
    },
    io: {
      ...c.io,
      byDisk: [...c.io.byDisk],
      latencyHistogram: dense(c.io.latencyHistogram),
      delayBy: [...c.io.delayBy],
    },
    psi: c.psi,
  };
}

export function countersFromJson(j: CountersJson): SubjectCounters {
  return {
    ...j,
    cpu: { ...j.cpu, waitBy: new Map(j.cpu.waitBy), writebackBy: new Map(j.cpu.writebackBy) },
    io: { ...j.io, byDisk: new Map(j.io.byDisk), delayBy: new Map(j.io.delayBy) },
    psi: j.psi,
  };
}

/** Histograms grow by index: holes become zeros so JSON keeps them as numbers. */
function dense(h: readonly number[]): number[] {
  return Array.from(h, (n) => n ?? 0);
}
