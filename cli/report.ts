// `crosstalk report`: a DiagnosticSession's status as the per-victim table of design.md §2
// (victim, node, verdict, the measured figures and the top aggressor with its share and
// evidence), probe issues as footnotes. Pure: the session comes in, text goes out.
import { z } from 'zod';

import {
  objectMetaSchema,
  sessionLimits,
  sessionStatusSchema,
  type Aggressor,
  type ObjectMeta,
  type SessionStatus,
  type VictimReport,
} from '../crds/index.js';
import { formatDuration, formatPercent } from '../agent/report/format.js';
import { CliError } from './errors.js';
import { renderTable } from './table.js';

/** The parts of a DiagnosticSession a report reads. */
export interface ReportedSession {
  readonly metadata: ObjectMeta;
  readonly status?: SessionStatus | undefined;
}

const reportedSessionSchema = z.looseObject({ metadata: objectMetaSchema, status: sessionStatusSchema.optional() });

/** Parses a DiagnosticSession as the API (or `kubectl get -o json`) returns it. */
export function parseSession(raw: unknown): ReportedSession {
  const parsed = reportedSessionSchema.safeParse(raw);
  if (!parsed.success)
    throw new CliError('Failed', `unreadable DiagnosticSession: ${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
    });
  return parsed.data;
}

export interface ReportOptions {
  /** More columns: score, the last window's verdict, the share of IO time delayed by
   * others, the CPI baseline, LLC hit rate, and every aggressor and self-inflicted cause
   * instead of the top one. */
  readonly wide?: boolean;
}

export function renderReport(session: ReportedSession, options: ReportOptions = {}): string {
  const status = session.status ?? {};
  const reports = status.reports ?? [];
  const lines: string[] = [];
  if (reports.length === 0) {
    lines.push(noReportsLine(session));
  } else {
    lines.push(
      options.wide
        ? renderTable(wideHead, reports.map(wideRow))
        : renderTable(
            head,
            reports.map((r) => [...figures(r), confirmed(r.aggressors?.[0]), topCause(r)]),
          ),
    );
  }
  if (status.reportsOmitted)
    lines.push(
      `${status.reportsOmitted} more victims not shown: the session keeps the ${sessionLimits.reports} highest scores`,
    );
  for (const issue of status.probeIssues ?? [])
    lines.push(`${issue.node}: ${issue.probe} probe ${issue.state.toLowerCase()} (${issue.reason})`);
  return lines.join('\n');
}

/** The report as one JSON object (for --json). */
export function reportJson(session: ReportedSession): Record<string, unknown> {
  const status = session.status ?? {};
  return {
    session: { namespace: session.metadata.namespace, name: session.metadata.name },
    phase: status.phase,
    nodes: status.nodes,
    summary: status.summary,
    reports: status.reports ?? [],
    reportsOmitted: status.reportsOmitted ?? 0,
    probeIssues: status.probeIssues ?? [],
  };
}

const head = [
  'VICTIM',
  'NODE',
  'VERDICT',
  'CPU WAIT',
  'IO p99',
  'RECLAIM',
  'CPI',
  'SELF-LIMITED',
  'CONFIRMED',
  'TOP AGGRESSOR (share, evidence)',
];

const wideHead = [
  'VICTIM',
  'NODE',
  'VERDICT',
  'SCORE',
  'NOW',
  'CPU WAIT',
  'IO p99',
  'IO DELAYED',
  'RECLAIM',
  'CPI',
  'CPI BASE',
  'LLC HIT',
  'SELF-LIMITED',
  'CAUSES (share, evidence)',
];

function figures(r: VictimReport): string[] {
  const m = r.metrics;
  return [
    `${r.namespace}/${r.name}`,
    r.node,
    r.verdict,
    m?.cpu ? formatPercent(m.cpu.waitPercent / 100) : '-',
    m?.io ? milliseconds(m.io.p99LatencyMs) : '-',
    m?.memory ? milliseconds(m.memory.reclaimStallSeconds * 1000) : '-',
    m?.cache ? m.cache.cpi.toFixed(2) : 'n/a',
    selfLimited(r),
  ];
}

/** Loss to its own limits, apart from the verdict: "CPUQuota 81%" (share of wall time). */
function selfLimited(r: VictimReport): string {
  const causes = (r.selfInflicted ?? []).map((s) => `${s.cause} ${formatPercent(s.percent / 100)}`);
  return causes.length > 0 ? causes.join(', ') : '-';
}

function wideRow(r: VictimReport): string[] {
  const [victim = '', node = '', verdict = '', cpu = '', io = '', reclaim = '', cpi = '', self = ''] = figures(r);
  const m = r.metrics;
  const causes = [
    ...(r.aggressors ?? []).map((a) => aggressorText(a) + (a.confirmation ? `; ${confirmed(a)}` : '')),
    ...(r.selfInflicted ?? []).map(selfText),
  ];
  return [
    victim,
    node,
    verdict,
    String(Math.round(r.score)),
    r.lastWindow?.verdict ?? '-',
    cpu,
    io,
    m?.io ? formatPercent(m.io.delayedPercent / 100) : '-',
    reclaim,
    cpi,
    // "none yet": no window without contention to compare with, so cache is not scored.
    m?.cache ? (m.cache.baselineCpi?.toFixed(2) ?? 'none yet') : 'n/a',
    m?.cache ? formatPercent(m.cache.llcHitPercent / 100) : 'n/a',
    self,
    causes.length > 0 ? causes.join('\n') : '-',
  ];
}

/** Whether restraining the top aggressor proved it: "Confirmed 62→4→58%" (the victim's
 * loss before, during and after), "Skipped", or "-" when not tried. */
function confirmed(a: Aggressor | undefined): string {
  const c = a?.confirmation;
  if (!c) return '-';
  if (c.lossDuringPercent === undefined || c.lossAfterPercent === undefined) return c.result;
  const pct = (x: number | undefined) => Math.round(x ?? 0);
  return `${c.result} ${pct(c.lossBeforePercent)}→${pct(c.lossDuringPercent)}→${pct(c.lossAfterPercent)}%`;
}

/** The main aggressor, or "-" (a victim's own limits have their own column). */
function topCause(r: VictimReport): string {
  const top = r.aggressors?.[0];
  return top ? aggressorText(top) : '-';
}

function aggressorText(a: Aggressor): string {
  const who = a.pod ? `${a.pod.namespace}/${a.pod.name}` : (a.cgroup ?? '?');
  return `${who} (${a.resource} ${Math.round(a.sharePercent)}%) ${a.evidence}`;
}

function selfText(s: NonNullable<VictimReport['selfInflicted']>[number]): string {
  return `self-inflicted (${s.resource}) ${s.evidence}`;
}

/** Milliseconds as the design's table shows them: "1.9 ms", "14 ms", "0 ms". */
function milliseconds(ms: number): string {
  return ms === 0 ? '0 ms' : formatDuration(ms * 1e6);
}

/** Why there is nothing to show yet: the phase and whatever condition is not satisfied. */
function noReportsLine(session: ReportedSession): string {
  const status = session.status;
  const name = `${session.metadata.namespace ?? ''}/${session.metadata.name}`;
  if (!status?.phase) return `${name}: no report yet (the operator has not processed the session)`;
  const blocking = (status.conditions ?? []).find(
    (c) => c.status === 'False' && c.type !== 'InterferenceDetected' && c.type !== 'ProbesHealthy',
  );
  return `${name}: no victim reports yet (phase ${status.phase}${blocking ? `; ${blocking.reason}: ${blocking.message}` : ''})`;
}
