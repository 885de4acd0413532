// `crosstalk dr-snoop`: one line per memory reclaim stall longer than the threshold,
// drsnoop's columns plus the kind (direct: the machine ran short; memcg: a cgroup hit its
// limit), from the memory probe's slow-reclaim records.
import { formatDuration } from '../../agent/report/format.js';
import type { ProbeEvent, SlowReclaimEvent } from '../../agent/probes/index.js';
import { clockTime, formatHeader, formatRow, milliseconds, type Column } from '../columns.js';
import { ownerText } from '../owners.js';
import type { SnoopTool } from '../snoop.js';

const columns: Column[] = [
  { title: 'TIME', width: 8 },
  { title: 'COMM', width: 16 },
  { title: 'TID', width: 7 },
  { title: 'LAT(ms)', width: 8, align: 'right' },
  { title: 'PAGES', width: 7, align: 'right' },
  { title: 'KIND', width: 6 },
  { title: 'OWNER', width: 0 },
];

export const drSnoop: SnoopTool<SlowReclaimEvent> = {
  announce: 'Tracing direct and memcg reclaim',
  probe: 'memory',
  probeOptions: (o) => ({ reclaimSlowNs: o.thresholdNs }),
  select: (e: ProbeEvent) => (e.type === 'slow-reclaim' ? e : undefined),
  subject: (e) => ({ pid: e.tid, cgroup: e.cgroup }),
  cgroups: (e) => [e.cgroup],

  header: (ctx) => formatHeader(ctx.options.owner ? columns : columns.slice(0, -1)),

  lines(e, ctx) {
    const cells = [
      clockTime(e.time),
      e.comm,
      String(e.tid),
      milliseconds(e.latencyNs),
      String(e.pages),
      e.kind,
      ...(ctx.options.owner ? [ownerText(ctx.owner(e.cgroup))] : []),
    ];
    return [formatRow(columns, cells), ...(e.stack ?? []).map((frame) => `    ${frame}`)];
  },

  json: (e, ctx) => ({
    time: e.time.toISOString(),
    comm: e.comm,
    tid: e.tid,
    latencyMs: e.latencyNs / 1e6,
    pages: e.pages,
    kind: e.kind,
    cgroup: ctx.path(e.cgroup),
    ...(ctx.options.owner ? { owner: ctx.owner(e.cgroup) } : {}),
    ...(e.stack ? { stack: e.stack } : {}),
  }),

  summary() {
    let stallNs = 0;
    let pages = 0;
    return {
      add(e) {
        stallNs += e.latencyNs;
        pages += e.pages;
      },
      text: () => (stallNs > 0 ? `${formatDuration(stallNs)} stalled, ${pages} pages reclaimed` : ''),
      json: () => ({ stallMs: stallNs / 1e6, pages }),
    };
  },
};
