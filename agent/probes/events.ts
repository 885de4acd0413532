// Turns the raw event records (cgroup lifecycle, slow IO, slow reclaim, slow run-queue
// waits) into typed
// events, oldest first. Pure: time conversion and stack symbolization are injected.
import { cgroupEventKinds, ioFlags, ioOps, reclaimKinds } from '../native/constants.js';
import type { RawRecord, RawSections } from '../native/index.js';
import type { CgroupEvent, ProbeEvent, RunqHolder, SlowIoEvent, SlowReclaimEvent, SlowRunqEvent } from './types.js';
import { deviceOf, holderOf, ioOpOf } from '../windows/probe-deltas.js';

export interface EventContext {
  /** Hierarchy of the io probe's owner ids (blkio on v1 hosts, else unified). */
  readonly ioHierarchyId: number;
  /** Hierarchy of the memory probe's cgroup ids (unified). */
  readonly memoryHierarchyId: number;
  /** Hierarchy of the cpu probe's cgroup ids (unified). */
  readonly cpuHierarchyId: number;
  /** CLOCK_MONOTONIC ns (as bpf_ktime_get_ns) to wall-clock time. */
  readonly wallTime: (monotonicNs: bigint) => Date;
  /** Kernel addresses to symbol names; frames are dropped when absent. */
  readonly symbolize?: (address: bigint) => string;
}

const opLetter: Record<number, string> = {
  [ioOps.read]: 'R',
  [ioOps.write]: 'W',
  [ioOps.flush]: 'F',
  [ioOps.discard]: 'D',
};

/** biosnoop-style rwbs: [F]{R,W,D,F,N}[F][A][S][M] for preflush, op, FUA, readahead,
 * sync, meta. */
export function rwbs(op: number, flags: number): string {
  const has = (bit: number) => (flags & bit) !== 0;
  return (
    (has(ioFlags.preflush) ? 'F' : '') +
    (opLetter[op] ?? 'N') +
    (has(ioFlags.fua) ? 'F' : '') +
    (has(ioFlags.readahead) ? 'A' : '') +
    (has(ioFlags.sync) ? 'S' : '') +
    (has(ioFlags.meta) ? 'M' : '')
  );
}

/** The probe's own frames (the BPF program and the tracepoint glue that ran it). */
const probeFrame = /^(bpf_prog_|bpf_trace_run|__bpf_trace_)/;

function stackOf(ctx: EventContext, nframes: number, frames: readonly bigint[]): { stack?: string[] } {
  if (!ctx.symbolize || nframes === 0) return {};
  const names = frames.slice(0, nframes).map(ctx.symbolize);
  const first = names.findIndex((name) => !probeFrame.test(name));
  return { stack: first < 0 ? names : names.slice(first) };
}

function cgroupEvent(ctx: EventContext, r: RawRecord<'cgroupEvent'>): CgroupEvent {
  return {
    type: 'cgroup',
    kind: r.kind === cgroupEventKinds.rmdir ? 'rmdir' : 'mkdir',
    time: ctx.wallTime(r.timeNs),
    monotonicNs: r.timeNs,
    cgroup: { hierarchyId: r.hierarchyId, id: r.cgroupId },
    level: r.level,
    path: r.path,
    pathTruncated: r.pathTruncated !== 0,
  };
}

function slowIo(ctx: EventContext, r: RawRecord<'ioEventRecord'>): SlowIoEvent {
  return {
    type: 'slow-io',
    time: ctx.wallTime(r.timeNs),
    monotonicNs: r.timeNs,
    comm: r.comm,
    pid: r.pid,
    device: deviceOf(r.dev),
    op: ioOpOf(r.op),
    flags: rwbs(r.op, r.flags),
    sector: r.sector,
    bytes: Number(r.bytes),
    totalNs: Number(r.totalNs),
    deviceNs: Number(r.deviceNs),
    cgroup: { hierarchyId: ctx.ioHierarchyId, id: r.cgroupId },
    ...stackOf(ctx, r.nframes, r.frames),
  };
}

function slowReclaim(ctx: EventContext, r: RawRecord<'reclaimEventRecord'>): SlowReclaimEvent {
  return {
    type: 'slow-reclaim',
    time: ctx.wallTime(r.timeNs),
    monotonicNs: r.timeNs,
    comm: r.comm,
    tid: r.tid,
    kind: r.kind === reclaimKinds.memcg ? 'memcg' : 'direct',
    latencyNs: Number(r.latencyNs),
    pages: Number(r.pages),
    cgroup: { hierarchyId: ctx.memoryHierarchyId, id: r.cgroupId },
    ...stackOf(ctx, r.nframes, r.frames),
  };
}

function slowRunq(ctx: EventContext, r: RawRecord<'runqEvent'>): SlowRunqEvent {
  const holders: RunqHolder[] = [];
  for (let i = 0; i < Math.min(r.nholders, r.holders.length / 2); i++)
    holders.push({ holder: holderOf(r.holders[2 * i] ?? 0n), ns: Number(r.holders[2 * i + 1] ?? 0n) });
  holders.sort((a, b) => b.ns - a.ns);
  return {
    type: 'slow-runq',
    time: ctx.wallTime(r.timeNs),
    monotonicNs: r.timeNs,
    comm: r.comm,
    pid: r.pid,
    cpu: r.cpu,
    waitNs: Number(r.waitNs),
    cgroup: { hierarchyId: ctx.cpuHierarchyId, id: r.cgroupId },
    prev: { comm: r.prevComm, pid: r.prevPid, cgroup: { hierarchyId: ctx.cpuHierarchyId, id: r.prevCgroup } },
    holders,
    otherNs: Number(r.otherNs),
    unattributedNs: Number(r.unattributedNs),
  };
}

export function decodeEvents(raw: RawSections, ctx: EventContext): ProbeEvent[] {
  const events: ProbeEvent[] = [
    ...raw.cgroupEvents.map((r) => cgroupEvent(ctx, r)),
    ...raw.ioEvents.map((r) => slowIo(ctx, r)),
    ...raw.reclaimEvents.map((r) => slowReclaim(ctx, r)),
    ...raw.runqEvents.map((r) => slowRunq(ctx, r)),
  ];
  return events.sort((a, b) => (a.monotonicNs < b.monotonicNs ? -1 : a.monotonicNs > b.monotonicNs ? 1 : 0));
}
