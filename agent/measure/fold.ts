// Folds one probe window (per-cgroup deltas, ids per hierarchy) into per-subject counters:
// every container cgroup of a pod adds into that pod, every other cgroup stands alone.
import type { BlockDevice, ProbeWindow } from '../probes/index.js';
import type { SubjectRef } from '../report/assess.js';
import { addDiskTraffic, addHistogram, emptyCounters, type SubjectCounters } from './counters.js';

export interface Subject {
  /** `pod/<uid>` or `cgroup/<path>`: stable across hierarchies and agent restarts. */
  readonly key: string;
  readonly ref: SubjectRef;
}

/** Finds the subject of a cgroup id in a hierarchy (0: unified; v1 ids per /proc/cgroups). */
export type ResolveSubject = (hierarchyId: number, cgroupId: bigint) => Subject;

/** Disk name for a device number (e.g. 254:0 -> vda). */
export type NameDisk = (device: BlockDevice) => string;

/** A thread of the root cgroup (a kernel thread, or a process outside any cgroup). */
export type NameThread = (pid: number) => Subject;

export interface FoldContext {
  readonly resolve: ResolveSubject;
  readonly nameDisk: NameDisk;
  readonly nameThread: NameThread;
}

/** The root blkcg: owner of requests that carry none (flushes). */
const rootCgroup = 1n;

export function foldWindow(window: ProbeWindow, ctx: FoldContext): Map<string, SubjectCounters> {
  const { resolve, nameDisk } = ctx;
  const out = new Map<string, SubjectCounters>();
  const counterOf = (subject: Subject): SubjectCounters => {
    let counters = out.get(subject.key);
    if (!counters) out.set(subject.key, (counters = emptyCounters(subject.ref)));
    return counters;
  };
  const of = (hierarchyId: number, id: bigint) => counterOf(resolve(hierarchyId, id));

  if (window.cpu) {
    const h = window.cpu.hierarchyId;
    for (const u of window.cpu.usage) {
      const c = of(h, u.cgroupId).cpu;
      c.oncpuNs += u.oncpuNs;
      c.involuntary += u.involuntary;
    }
    for (const v of window.cpu.victims) {
      const c = of(h, v.cgroupId).cpu;
      c.waitNs += v.waitNs;
      c.waits += v.waits;
      c.unattributedNs += v.unattributedNs;
      addHistogram(c.waitHistogram, v.histogram);
    }
    for (const a of window.cpu.attribution) {
      const victim = of(h, a.victim).cpu;
      // idle: the CPU was idle between the wakeup and the switch; no one to blame.
      if (a.aggressor.kind === 'idle') {
        victim.idleWaitNs += a.waitNs;
        continue;
      }
      // writeback: kernel threads wrote back the holder's dirty pages; the wait is its doing.
      const holder = a.aggressor.kind === 'thread' ? ctx.nameThread(a.aggressor.pid) : resolve(h, a.aggressor.id);
      // The holder appears as a subject too, so that its name reaches the report.
      counterOf(holder);
      victim.waitBy.set(holder.key, (victim.waitBy.get(holder.key) ?? 0) + a.waitNs);
      if (a.aggressor.kind === 'writeback')
        victim.writebackBy.set(holder.key, (victim.writebackBy.get(holder.key) ?? 0) + a.waitNs);
    }
  }
  if (window.io) {
    const h = window.io.hierarchyId;
    for (const t of window.io.traffic) {
      const isWrite = t.op === 'write';
      addDiskTraffic(of(h, t.cgroupId).io.byDisk, nameDisk(t.device), {
        readBytes: isWrite ? 0 : t.bytes,
        writeBytes: isWrite ? t.bytes : 0,
        ops: t.ops,
      });
    }
    for (const l of window.io.latency) {
      const io = of(h, l.cgroupId).io;
      io.completed += l.count;
      // Insert to completion: queueing behind other cgroups' requests is the interference.
      addHistogram(io.latencyHistogram, l.totalHistogram);
      io.requestNs += l.totalNs;
      io.delayedNs += l.delayedNs;
      io.unattributedDelayNs += l.unattributedNs;
    }
    for (const d of window.io.delays) {
      const io = of(h, d.victim).io;
      const holder = resolve(h, d.holder === 0n ? rootCgroup : d.holder);
      counterOf(holder);
      io.delayBy.set(holder.key, (io.delayBy.get(holder.key) ?? 0) + d.ns);
    }
  }
  if (window.memory) {
    const h = window.memory.hierarchyId;
    for (const s of window.memory.stalls) {
      const m = of(h, s.cgroupId).memory;
      m.direct.stallNs += s.direct.stallNs;
      m.direct.count += s.direct.count;
      m.direct.pages += s.direct.pages;
      m.memcg.stallNs += s.memcg.stallNs;
      m.memcg.count += s.memcg.count;
      m.memcg.pages += s.memcg.pages;
    }
  }
  if (window.cache) {
    const h = window.cache.hierarchyId;
    for (const k of window.cache.counters) {
      const c = of(h, k.cgroupId).cache;
      c.cycles += k.cycles;
      c.instructions += k.instructions;
      c.llcReferences += k.llcReferences;
      c.llcMisses += k.llcMisses;
    }
  }
  return out;
}
