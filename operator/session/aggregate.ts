// Merges every node's NodeDiagnostic status into the session's view: node counts, all
// victim reports ranked by score, the summary kubectl shows, and probe problems. Pure, and
// linear in the number of reports apart from one sort, so it scales to many nodes.
import { sessionLimits, type ProbeIssue, type VictimReport } from '../../crds/diagnostic-session.js';
import { nodeDiagnosticStatusSchema, type NodeDiagnosticStatus } from '../../crds/node-diagnostic.js';
import { describeIssues } from './issues.js';
import { memoizedSafeParse } from './memo.js';
import { podKey, verdictRank, type Aggressor, type Verdict } from '../../crds/report.js';

/** One node's share as the aggregation sees it. */
export interface NodeView {
  readonly nodeName: string;
  /** UIDs of the victims the node's spec names (reports of other pods are ignored). */
  readonly targets: ReadonlySet<string>;
  /** The status as the agent wrote it (unparsed), if any. */
  readonly status: unknown;
  /** The agent has applied the current spec (observedGeneration matches, no update pending). */
  readonly specApplied: (status: NodeDiagnosticStatus) => boolean;
}

export interface NodeProblem {
  readonly node: string;
  readonly message: string;
}

export interface Aggregate {
  readonly nodes: { total: number; ready: number; failed: number; readyOfTotal: string };
  readonly summary: {
    victims: number;
    affected: number;
    selfLimited?: number;
    verdict?: Verdict;
    worstPod?: string;
    topAggressor?: string;
  };
  /** The top reports, highest score first, at most sessionLimits.reports. */
  readonly reports: VictimReport[];
  readonly reportsOmitted: number;
  readonly probeIssues: ProbeIssue[];
  /** Nodes whose agent has not (yet) applied the current spec. */
  readonly waiting: readonly string[];
  readonly failed: readonly NodeProblem[];
  /** Nodes whose status the operator cannot read. */
  readonly unreadable: readonly NodeProblem[];
  /** Nodes whose agent has not written its final window (the one ending at the deadline). */
  readonly notFinal: readonly string[];
}

const mediumRank = verdictRank('Medium');
const parseStatus = memoizedSafeParse(nodeDiagnosticStatusSchema);

export function aggregate(views: readonly NodeView[]): Aggregate {
  let ready = 0;
  let victims = 0;
  const reports: VictimReport[] = [];
  const probeIssues: ProbeIssue[] = [];
  const waiting: string[] = [];
  const failed: NodeProblem[] = [];
  const unreadable: NodeProblem[] = [];
  const notFinal: string[] = [];

  for (const view of [...views].sort((a, b) => a.nodeName.localeCompare(b.nodeName))) {
    victims += view.targets.size;
    const parsed = view.status === undefined ? undefined : parseStatus(view.status);
    if (parsed?.success !== true || parsed.data.window?.final !== true) notFinal.push(view.nodeName);
    if (!parsed) {
      waiting.push(view.nodeName);
      continue;
    }
    if (!parsed.success) {
      unreadable.push({ node: view.nodeName, message: describeIssues('status', parsed.error, 3).join(', ') });
      continue;
    }
    const status = parsed.data;
    if (status.phase === 'Failed') failed.push({ node: view.nodeName, message: status.message ?? 'the agent failed' });
    else if ((status.phase === 'Measuring' || status.phase === 'Stopped') && view.specApplied(status)) ready++;
    else waiting.push(view.nodeName);

    for (const pod of status.pods ?? []) {
      if (!view.targets.has(pod.uid)) continue;
      const { containers: _containers, ...report } = pod;
      reports.push({ ...report, node: view.nodeName });
    }
    for (const probe of status.probes ?? []) {
      if (probe.state !== 'Unsupported' && probe.state !== 'Degraded') continue;
      const reason = probe.reason ?? `${probe.lostEvents} events lost, ${probe.mapOverflows} kernel map overflows`;
      probeIssues.push({ node: view.nodeName, probe: probe.name, state: probe.state, reason: reason.slice(0, 256) });
    }
  }

  reports.sort(
    (a, b) =>
      b.score - a.score || verdictRank(b.verdict) - verdictRank(a.verdict) || podKey(a).localeCompare(podKey(b)),
  );
  const worst = reports[0];
  const worstVerdict = reports.reduce<Verdict | undefined>(
    (w, r) => (w === undefined || verdictRank(r.verdict) > verdictRank(w) ? r.verdict : w),
    undefined,
  );
  const topAggressor = worst && worst.verdict !== 'None' ? worst.aggressors?.[0] : undefined;
  const selfLimited = reports.filter((r) => (r.selfInflicted?.length ?? 0) > 0).length;
  const total = views.length;
  return {
    nodes: { total, ready, failed: failed.length, readyOfTotal: `${ready}/${total}` },
    summary: {
      victims,
      affected: reports.filter((r) => verdictRank(r.verdict) >= mediumRank).length,
      ...(selfLimited > 0 ? { selfLimited } : {}),
      ...(worstVerdict ? { verdict: worstVerdict } : {}),
      ...(worst ? { worstPod: podKey(worst) } : {}),
      ...(topAggressor ? { topAggressor: describeAggressor(topAggressor) } : {}),
    },
    reports: reports.slice(0, sessionLimits.reports),
    reportsOmitted: Math.max(0, reports.length - sessionLimits.reports),
    probeIssues: probeIssues.slice(0, sessionLimits.probeIssues),
    waiting,
    failed,
    unreadable,
    notFinal,
  };
}

/** `batch/etl-7f9c (cpu 81%)`, or the cgroup path for a non-pod aggressor. */
export function describeAggressor(a: Aggressor): string {
  const who = a.pod ? podKey(a.pod) : (a.cgroup ?? 'unknown');
  return `${who} (${a.resource} ${Math.round(a.sharePercent)}%)`;
}
