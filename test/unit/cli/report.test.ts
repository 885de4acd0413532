import { expect } from 'chai';

import { CliError } from '../../../cli/errors.js';
import { parseSession, renderReport, reportJson, type ReportedSession } from '../../../cli/report.js';
import { sampleNamespace, sampleSessionName, sampleStatus } from '../../fixtures/sample-session.js';

const session: ReportedSession = {
  metadata: { name: sampleSessionName, namespace: sampleNamespace },
  status: sampleStatus,
};

/** The cells of a rendered row: columns are separated by two or more spaces. */
function cells(line: string | undefined): string[] {
  return (line ?? '').split(/ {2,}/);
}

describe('cli report', function () {
  it("prints the design's table: one row per victim, figures, the top aggressor with share and evidence", function () {
    const lines = renderReport(session).split('\n');
    expect(cells(lines[0])).to.deep.equal([
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
    ]);
    expect(cells(lines[1])).to.deep.equal([
      'shop/checkout-5d8b-x2',
      'node-a',
      'High',
      '38.2%',
      '1.9 ms',
      '0 ms',
      'n/a',
      '-',
      'Confirmed 62→4→58%',
      "batch/etl-7f9c (cpu 81%) ran on the victim's CPU for 3.1 s of the 3.8 s the victim waited for it (81.2%)",
    ]);
    expect(cells(lines[2]).slice(0, 7)).to.deep.equal([
      'shop/cart-66c1-zz',
      'node-a',
      'Medium',
      '4%',
      '14 ms',
      '12 ms',
      'n/a',
    ]);
    expect(cells(lines[2])[9]).to.match(/^batch\/backup-2 \(io 64%\) its IO was in flight beside the victim's/);
    // A victim slowed by its own limit: verdict None, its cause in its own column, no neighbour.
    expect(cells(lines[3]).slice(2, 3)).to.deep.equal(['None']);
    expect(cells(lines[3]).slice(-3)).to.deep.equal(['CPUQuota 40.7%', '-', '-']);
    // A quiet victim without memory figures.
    expect(cells(lines[4])).to.deep.equal([
      'shop/checkout-5d8b-q7',
      'node-b',
      'None',
      '0.4%',
      '1.1 ms',
      '-',
      'n/a',
      '-',
      '-',
      '-',
    ]);
  });

  it('adds the omitted victims and the probe issues as footnotes', function () {
    const lines = renderReport(session).split('\n');
    expect(lines.slice(-2)).to.deep.equal([
      '3 more victims not shown: the session keeps the 50 highest scores',
      'node-a: cache probe unsupported (no hardware PMU)',
    ]);
    expect(lines).to.have.length(5 + 2);
    expect(lines.every((l) => l === l.trimEnd())).to.equal(true);
  });

  it('shows every aggressor, the score and the last window with -o wide', function () {
    const lines = renderReport(session, { wide: true }).split('\n');
    expect(cells(lines[0])).to.include.members([
      'SCORE',
      'NOW',
      'IO DELAYED',
      'CPI BASE',
      'LLC HIT',
      'SELF-LIMITED',
      'CAUSES (share, evidence)',
    ]);
    expect(cells(lines[1]).slice(0, 5)).to.deep.equal(['shop/checkout-5d8b-x2', 'node-a', 'High', '81', 'High']);
    // The second aggressor (a cgroup, not a pod) continues the cell on the next line.
    expect(lines[2]?.trim()).to.match(/^\/system\.slice\/backup\.service \(cpu 12%\) ran on the victim's CPU/);
  });

  it('says why there is no report yet', function () {
    expect(renderReport({ metadata: { name: 's', namespace: 'ns' } })).to.equal(
      'ns/s: no report yet (the operator has not processed the session)',
    );
    const pending: ReportedSession = {
      metadata: { name: 's', namespace: 'ns' },
      status: {
        phase: 'Pending',
        conditions: [
          {
            type: 'TargetsResolved',
            status: 'False',
            reason: 'NoTargets',
            message: 'no pod matches app=checkout in namespaces ns',
            lastTransitionTime: '2026-11-25T12:00:00Z',
          },
        ],
      },
    };
    expect(renderReport(pending)).to.equal(
      'ns/s: no victim reports yet (phase Pending; NoTargets: no pod matches app=checkout in namespaces ns)',
    );
  });

  it('gives the report as one JSON object', function () {
    const json = reportJson(session);
    expect(json).to.deep.include({ session: { namespace: 'shop', name: 'checkout-latency' }, phase: 'Running' });
    expect(json.reports).to.have.length(4);
    expect(JSON.parse(JSON.stringify(json))).to.deep.equal(json);
  });

  it('parses a session read from the API and refuses a malformed one with a clear error', function () {
    const parsed = parseSession({
      apiVersion: 'crosstalk.dev/v1alpha1',
      kind: 'DiagnosticSession',
      metadata: { name: 'x', namespace: 'y', uid: 'u' },
      spec: {},
      status: sampleStatus,
    });
    expect(parsed.status?.reports?.[0]?.name).to.equal('checkout-5d8b-x2');
    const bad = { metadata: { name: 'x' }, status: { reports: [{ name: 'no-namespace' }] } };
    expect(() => parseSession(bad))
      .to.throw(CliError, /unreadable DiagnosticSession/)
      .with.property('code', 'Failed');
  });
});
