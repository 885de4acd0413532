// Did crosstalk get it right? The scenario knows the ground truth (who the aggressor is,
// who only stands by); the session's status says what crosstalk concluded.
import { podKey, type Aggressor, type DiagnosticSession, type VictimReport } from '../crds/index.js';
import { bystander, victim, type Scenario } from './scenarios.js';

export interface Check {
  readonly ok: boolean;
  readonly text: string;
}

export interface Outcome {
  readonly ok: boolean;
  readonly report?: VictimReport;
  /** The scenario's aggressor as the report names it (the highest-ranked entry). */
  readonly named?: Aggressor;
  readonly checks: readonly Check[];
}

export function judge(session: DiagnosticSession, scenario: Scenario): Outcome {
  const phase = session.status?.phase ?? 'no phase';
  const report = session.status?.reports?.find((r) => r.namespace === victim.namespace && r.name === victim.name);
  const aggressors = report?.aggressors ?? [];
  const named = aggressors.find((a) => a.pod !== undefined && scenario.isAggressor(a.pod));
  const bystanderEntry = aggressors.find((a) => a.pod !== undefined && podKey(a.pod) === podKey(bystander));
  const checks: Check[] = [
    { ok: phase === 'Completed', text: `the session ${phase === 'Completed' ? 'completed' : `ended as ${phase}`}` },
    report
      ? { ok: report.verdict !== 'None', text: `the victim ${podKey(victim)} got the verdict ${report.verdict}` }
      : { ok: false, text: `no report for the victim ${podKey(victim)}` },
    named
      ? { ok: true, text: `the aggressor ${describe(named)} was named: ${named.evidence}` }
      : { ok: false, text: `the aggressor ${scenario.aggressorName} was not named` },
    bystanderEntry
      ? { ok: false, text: `the bystander ${describe(bystanderEntry)} was named too` }
      : { ok: true, text: `the bystander ${podKey(bystander)} was not named` },
  ];
  return {
    ok: checks.every((c) => c.ok),
    ...(report && { report }),
    ...(named && { named }),
    checks,
  };
}

/** `batch/etl (cpu 97%)`, as the session's summary writes an aggressor. */
export function describe(aggressor: Aggressor): string {
  const who = aggressor.pod ? podKey(aggressor.pod) : (aggressor.cgroup ?? '?');
  return `${who} (${aggressor.resource} ${Math.round(aggressor.sharePercent)}%)`;
}
