// `crosstalk bio-snoop`: one line per block IO slower than the threshold, biosnoop's
// columns (the request flags as rwbs letters), from the io probe's slow-IO records.
import { formatBytes, formatDuration } from '../../agent/report/format.js';
import type { ProbeEvent, SlowIoEvent } from '../../agent/probes/index.js';
import { formatHeader, formatRow, milliseconds, type Column } from '../columns.js';
import { ownerText } from '../owners.js';
import type { SnoopContext, SnoopTool } from '../snoop.js';

const columns: Column[] = [
  { title: 'TIME(s)', width: 11 },
  { title: 'COMM', width: 16 },
  { title: 'PID', width: 7 },
  { title: 'DISK', width: 7 },
  { title: 'T', width: 4 },
  { title: 'SECTOR', width: 12, align: 'right' },
  { title: 'BYTES', width: 8, align: 'right' },
  { title: 'LAT(ms)', width: 8, align: 'right' },
  { title: 'OWNER', width: 0 },
];

const elapsed = (e: SlowIoEvent, ctx: SnoopContext) => Number(e.monotonicNs - ctx.startNs) / 1e9;

export const bioSnoop: SnoopTool<SlowIoEvent> = {
  announce: 'Tracing block device I/O',
  probe: 'io',
  probeOptions: (o) => ({ ioSlowNs: o.thresholdNs }),
  select: (e: ProbeEvent) => (e.type === 'slow-io' ? e : undefined),
  subject: (e) => ({ pid: e.pid, cgroup: e.cgroup, device: e.device }),
  cgroups: (e) => [e.cgroup],

  header: (ctx) => formatHeader(ctx.options.owner ? columns : columns.slice(0, -1)),

  lines(e, ctx) {
    const cells = [
      elapsed(e, ctx).toFixed(6),
      e.comm,
      String(e.pid),
      ctx.diskName(e.device),
      e.flags,
      String(e.sector),
      String(e.bytes),
      milliseconds(e.totalNs),
      ...(ctx.options.owner ? [ownerText(ctx.owner(e.cgroup))] : []),
    ];
    return [formatRow(columns, cells), ...(e.stack ?? []).map((frame) => `    ${frame}`)];
  },

  json: (e, ctx) => ({
    time: e.time.toISOString(),
    elapsedSeconds: Number(elapsed(e, ctx).toFixed(6)),
    comm: e.comm,
    pid: e.pid,
    disk: ctx.diskName(e.device),
    t: e.flags,
    sector: String(e.sector),
    bytes: e.bytes,
    latencyMs: e.totalNs / 1e6,
    deviceLatencyMs: e.deviceNs / 1e6,
    cgroup: ctx.path(e.cgroup),
    ...(ctx.options.owner ? { owner: ctx.owner(e.cgroup) } : {}),
    ...(e.stack ? { stack: e.stack } : {}),
  }),

  summary() {
    let bytes = 0;
    let slowestNs = 0;
    return {
      add(e) {
        bytes += e.bytes;
        slowestNs = Math.max(slowestNs, e.totalNs);
      },
      text: () => (bytes > 0 ? `${formatBytes(bytes)}, slowest ${formatDuration(slowestNs)}` : ''),
      json: () => ({ bytes, slowestMs: slowestNs / 1e6 }),
    };
  },
};
