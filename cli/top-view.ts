// What `crosstalk top` shows for one window: a row per pod or cgroup that did anything
// (its CPU use and run-queue wait, IO p99, reclaim stall, CPI, the window's verdict and
// its top aggressor, as the agent's assessment found them), the worst victim, and the
// frame rendered for a terminal, for a pipe or as JSON. Pure.
import type { SubjectCounters } from '../agent/measure/counters.js';
import { percentileNs } from '../agent/probes/index.js';
import type { Assessment, SubjectRef } from '../agent/report/assess.js';
import { formatDuration, formatPercent } from '../agent/report/format.js';
import type { Resource, Verdict } from '../agent/report/thresholds.js';
import { ownerText } from './owners.js';
import { renderTable } from './table.js';

export interface TopCause {
  readonly who: string;
  readonly resource: Resource;
  /** 0-1. */
  readonly share: number;
  readonly evidence: string;
}

export interface TopRow {
  readonly key: string;
  readonly name: string;
  readonly kind: SubjectRef['kind'];
  /** On-CPU time over the window, as a share of one CPU (above 1 with several). */
  readonly cpu: number;
  /** Run-queue wait over the window (above 1 when several threads wait at once). */
  readonly wait: number;
  readonly ioP99Ns: number | undefined;
  readonly reclaimNs: number;
  readonly cpi: number | undefined;
  readonly verdict: Verdict;
  readonly score: number;
  readonly topAggressor: TopCause | undefined;
  /** Its own limit, when that is the cause, e.g. "its own CPU quota: throttled ...". */
  readonly selfInflicted: string | undefined;
}

export interface TopFrame {
  readonly time: Date;
  readonly intervalMs: number;
  /** Windows closed so far, this one included. */
  readonly window: number;
  readonly rows: readonly TopRow[];
  /** Probes that are not running, and what that costs. */
  readonly notes: readonly string[];
}

function active(c: SubjectCounters): boolean {
  let ioBytes = 0;
  for (const d of c.io.byDisk.values()) ioBytes += d.readBytes + d.writeBytes;
  return (
    c.cpu.oncpuNs > 0 ||
    c.cpu.waitNs > 0 ||
    c.io.completed > 0 ||
    ioBytes > 0 ||
    c.memory.direct.stallNs + c.memory.memcg.stallNs > 0
  );
}

/** Keys of the subjects that did anything in the window. */
export function activeSubjects(counters: ReadonlyMap<string, SubjectCounters>): string[] {
  return [...counters].filter(([, c]) => active(c)).map(([key]) => key);
}

/** One row per active subject, the most affected first. */
export function topRows(
  counters: ReadonlyMap<string, SubjectCounters>,
  assessments: ReadonlyMap<string, Assessment>,
  wallNs: number,
): TopRow[] {
  const rows: TopRow[] = [];
  for (const [key, c] of counters) {
    if (!active(c)) continue;
    const a = assessments.get(key);
    const top = a?.aggressors[0];
    const self = a?.selfInflicted[0];
    rows.push({
      key,
      name: ownerText(c.ref),
      kind: c.ref.kind,
      cpu: wallNs > 0 ? c.cpu.oncpuNs / wallNs : 0,
      wait: wallNs > 0 ? c.cpu.waitNs / wallNs : 0,
      ioP99Ns: c.io.completed > 0 ? percentileNs(c.io.latencyHistogram, 0.99) : undefined,
      reclaimNs: c.memory.direct.stallNs + c.memory.memcg.stallNs,
      cpi: c.cache.instructions > 0 ? c.cache.cycles / c.cache.instructions : undefined,
      verdict: a?.verdict ?? 'None',
      score: a?.score ?? 0,
      topAggressor: top && {
        who: ownerText(top.ref),
        resource: top.resource,
        share: top.share,
        evidence: top.evidence,
      },
      selfInflicted: self?.evidence,
    });
  }
  return rows.sort((x, y) => y.score - x.score || y.wait - x.wait || y.cpu - x.cpu || x.name.localeCompare(y.name));
}

/** The most affected subject, if any is affected at all. */
export function worstVictim(rows: readonly TopRow[]): TopRow | undefined {
  const worst = rows[0];
  return worst && worst.verdict !== 'None' ? worst : undefined;
}

function causeText(row: TopRow): string {
  if (row.topAggressor)
    return `${row.topAggressor.who} (${row.topAggressor.resource} ${formatPercent(row.topAggressor.share)})`;
  return row.selfInflicted ? 'self (its own limit)' : '-';
}

export interface RenderOptions {
  /** Rows of the table at most (the terminal's height); all when absent. */
  readonly maxRows?: number | undefined;
  /** Cut lines to the terminal's width; not when absent. */
  readonly width?: number | undefined;
  /** Whether the cache probe runs (else CPI is "n/a"). */
  readonly cpi: boolean;
}

export function renderTop(frame: TopFrame, o: RenderOptions): string {
  const worst = worstVictim(frame.rows);
  const lines = [
    `crosstalk top - ${frame.time.toTimeString().slice(0, 8)}, window ${frame.window} ` +
      `(${formatDuration(frame.intervalMs * 1e6)}), ${frame.rows.length} active pods and cgroups`,
    worst
      ? `worst victim: ${worst.name} (${worst.verdict}, score ${Math.round(worst.score)})` +
        (worst.topAggressor
          ? `; top aggressor: ${causeText(worst)}: ${worst.topAggressor.evidence}`
          : worst.selfInflicted
            ? `; self-inflicted: ${worst.selfInflicted}`
            : '')
      : 'worst victim: none (no interference in this window)',
    '',
  ];
  const shown = o.maxRows === undefined ? frame.rows : frame.rows.slice(0, Math.max(0, o.maxRows));
  const table = renderTable(
    ['POD/CGROUP', 'VERDICT', 'CPU', 'WAIT', 'IO p99', 'RECLAIM', 'CPI', 'TOP AGGRESSOR'],
    shown.map((r) => [
      r.name,
      r.verdict,
      formatPercent(r.cpu),
      formatPercent(r.wait),
      r.ioP99Ns === undefined ? '-' : formatDuration(r.ioP99Ns),
      r.reclaimNs > 0 ? formatDuration(r.reclaimNs) : '-',
      !o.cpi ? 'n/a' : r.cpi === undefined ? '-' : r.cpi.toFixed(2),
      causeText(r),
    ]),
  );
  lines.push(...table.split('\n'));
  if (shown.length < frame.rows.length) lines.push(`(${frame.rows.length - shown.length} more)`);
  lines.push(...frame.notes);
  return lines.map((l) => (o.width !== undefined && l.length > o.width ? l.slice(0, o.width) : l)).join('\n');
}

/** Lines `renderTop` prints besides the table rows. */
export function frameOverhead(frame: TopFrame): number {
  return 4 + 1 + frame.notes.length;
}

export function topJson(frame: TopFrame): Record<string, unknown> {
  const worst = worstVictim(frame.rows);
  return {
    time: frame.time.toISOString(),
    window: frame.window,
    intervalSeconds: frame.intervalMs / 1000,
    worstVictim: worst ? { name: worst.name, verdict: worst.verdict, score: worst.score } : null,
    topAggressor: worst?.topAggressor ?? null,
    rows: frame.rows,
    notes: frame.notes,
  };
}
