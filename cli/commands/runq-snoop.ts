// `crosstalk runq-snoop`: one line per run-queue wait longer than the threshold
// (runqslower's columns) with who held the CPU meanwhile: the task the waiter replaced
// and the cgroups whose tasks ran during the wait, with their shares of it. Kernel
// threads writing back a cgroup's dirty pages hold the CPU for that cgroup: "(writeback)".
import { formatDuration } from '../../agent/report/format.js';
import type { CgroupRef, Holder, ProbeEvent, SlowRunqEvent } from '../../agent/probes/index.js';
import { clockTime, formatHeader, formatRow, milliseconds, type Column } from '../columns.js';
import { ownerText } from '../owners.js';
import type { SnoopContext, SnoopTool } from '../snoop.js';

const columns: Column[] = [
  { title: 'TIME', width: 8 },
  { title: 'COMM', width: 16 },
  { title: 'TID', width: 7 },
  { title: 'CPU', width: 3, align: 'right' },
  { title: 'LAT(ms)', width: 8, align: 'right' },
  { title: 'PREV TASK', width: 22 },
  { title: 'HELD BY (share of the wait)', width: 0 },
];
const ownerColumn: Column = { title: 'OWNER', width: 24 };

function columnsFor(ctx: SnoopContext): Column[] {
  return ctx.options.owner ? [...columns.slice(0, -1), ownerColumn, ...columns.slice(-1)] : columns;
}

const cgroupOf = (e: SlowRunqEvent, id: bigint): CgroupRef => ({ hierarchyId: e.cgroup.hierarchyId, id });

/** A holder as people read it: "idle" for the idle CPU, a root-cgroup thread by name, else
 * its pod or cgroup. */
function holderName(e: SlowRunqEvent, h: Holder, ctx: SnoopContext): string {
  if (h.kind === 'idle') return 'idle';
  if (h.kind === 'thread') return ctx.threadName(h.pid);
  const owner = ownerText(ctx.owner(cgroupOf(e, h.id)));
  return h.kind === 'writeback' ? `${owner} (writeback)` : owner;
}

function percentOf(ns: number, e: SlowRunqEvent): number {
  return e.waitNs > 0 ? Math.round((100 * ns) / e.waitNs) : 0;
}

function heldBy(e: SlowRunqEvent, ctx: SnoopContext): string {
  const parts = e.holders.map((h) => `${holderName(e, h.holder, ctx)} ${percentOf(h.ns, e)}%`);
  if (e.otherNs > 0) parts.push(`others ${percentOf(e.otherNs, e)}%`);
  if (e.unattributedNs > 0) parts.push(`unattributed ${percentOf(e.unattributedNs, e)}%`);
  return parts.join(', ');
}

export const runqSnoop: SnoopTool<SlowRunqEvent> = {
  announce: 'Tracing run queue waits',
  probe: 'cpu',
  probeOptions: (o) => ({ runqSlowNs: o.thresholdNs }),
  select: (e: ProbeEvent) => (e.type === 'slow-runq' ? e : undefined),
  subject: (e) => ({ pid: e.pid, cgroup: e.cgroup }),
  cgroups: (e) => [
    e.cgroup,
    ...e.holders.flatMap((h) =>
      h.holder.kind === 'cgroup' || h.holder.kind === 'writeback' ? [cgroupOf(e, h.holder.id)] : [],
    ),
  ],

  header: (ctx) => formatHeader(columnsFor(ctx)),

  lines(e, ctx) {
    const cells = [
      clockTime(e.time),
      e.comm,
      String(e.pid),
      String(e.cpu),
      milliseconds(e.waitNs),
      e.prev.pid === 0 ? 'idle' : `${e.prev.comm}:${e.prev.pid}`,
      ...(ctx.options.owner ? [ownerText(ctx.owner(e.cgroup))] : []),
      heldBy(e, ctx),
    ];
    return [formatRow(columnsFor(ctx), cells)];
  },

  json: (e, ctx) => ({
    time: e.time.toISOString(),
    comm: e.comm,
    tid: e.pid,
    cpu: e.cpu,
    latencyMs: e.waitNs / 1e6,
    cgroup: ctx.path(e.cgroup),
    ...(ctx.options.owner ? { owner: ctx.owner(e.cgroup) } : {}),
    prev: { comm: e.prev.comm, tid: e.prev.pid, cgroup: e.prev.pid === 0 ? null : ctx.path(e.prev.cgroup) },
    heldBy: e.holders.map((h) => ({
      ...holderJson(e, h.holder, ctx),
      ms: h.ns / 1e6,
      sharePercent: percentOf(h.ns, e),
    })),
    othersMs: e.otherNs / 1e6,
    unattributedMs: e.unattributedNs / 1e6,
  }),

  summary(ctx) {
    let waitNs = 0;
    const byHolder = new Map<string, number>();
    return {
      add(e) {
        waitNs += e.waitNs;
        for (const h of e.holders) {
          const name = holderName(e, h.holder, ctx);
          byHolder.set(name, (byHolder.get(name) ?? 0) + h.ns);
        }
      },
      text() {
        if (waitNs === 0) return '';
        const top = [...byHolder]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3)
          .map(([name, ns]) => `${name} ${Math.round((100 * ns) / waitNs)}%`);
        return `${formatDuration(waitNs)} waited${top.length > 0 ? `, held by ${top.join(', ')}` : ''}`;
      },
      json: () => ({
        waitMs: waitNs / 1e6,
        heldBy: Object.fromEntries([...byHolder].map(([name, ns]) => [name, ns / 1e6])),
      }),
    };
  },
};

/** A holder in JSON: its cgroup (null for the idle CPU), or the root-cgroup thread; a
 * cgroup whose dirty pages kernel threads wrote back is marked `writeback`. */
function holderJson(e: SlowRunqEvent, h: Holder, ctx: SnoopContext) {
  if (h.kind === 'idle') return { cgroup: null };
  if (h.kind === 'thread') return { cgroup: '/', thread: { tid: h.pid, comm: ctx.threadName(h.pid) } };
  const cgroup = cgroupOf(e, h.id);
  return {
    cgroup: ctx.path(cgroup),
    ...(h.kind === 'writeback' ? { writeback: true } : {}),
    ...(ctx.options.owner ? { owner: ctx.owner(cgroup) } : {}),
  };
}
