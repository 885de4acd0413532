// TEMPORARY: the session's reports as a plain table, shown only while the kubectl-crosstalk
// plugin (cli/report.ts, issue 7) is not in the checkout. Delete once it is.
import { podKey, type DiagnosticSession } from '../crds/index.js';
import { describe } from './outcome.js';

export function fallbackReport(session: DiagnosticSession): string {
  const rows = [['VICTIM', 'NODE', 'VERDICT', 'SCORE', 'TOP AGGRESSOR', 'EVIDENCE']];
  for (const r of session.status?.reports ?? []) {
    const top = r.aggressors?.[0];
    rows.push([podKey(r), r.node, r.verdict, String(r.score), top ? describe(top) : '-', top?.evidence ?? '']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
