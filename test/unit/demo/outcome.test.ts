import { expect } from 'chai';

import { sessionSpecSchema, type Aggressor, type DiagnosticSession, type VictimReport } from '../../../crds/index.js';
import { describe as describeAggressor, judge } from '../../../demo/outcome.js';
import { scenarios } from '../../../demo/scenarios.js';

const etl: Aggressor = {
  pod: { namespace: 'batch', name: 'etl', uid: 'u-etl' },
  resource: 'cpu',
  sharePercent: 81.4,
  evidence: "ran on the victim's CPU for 3.1 s of the 3.8 s the victim waited for it (81.4%)",
};
const frontend: Aggressor = {
  pod: { namespace: 'web', name: 'frontend', uid: 'u-fe' },
  resource: 'cpu',
  sharePercent: 9,
  evidence: "ran on the victim's CPU for 0.3 s of the 3.8 s the victim waited for it (9%)",
};
const system: Aggressor = { cgroup: '/', resource: 'cpu', sharePercent: 10, evidence: 'system' };

function session(phase: 'Running' | 'Completed', report?: Partial<VictimReport>): DiagnosticSession {
  const base: VictimReport = {
    namespace: 'shop',
    name: 'checkout',
    uid: 'u-checkout',
    node: 'demo-node',
    verdict: 'High',
    score: 80,
  };
  return {
    apiVersion: 'crosstalk.dev/v1alpha1',
    kind: 'DiagnosticSession',
    metadata: { name: 'noisy-neighbour', namespace: 'shop' },
    spec: sessionSpecSchema.parse({ selector: { matchLabels: { app: 'checkout' } }, duration: '30s' }),
    status: { phase, ...(report && { reports: [{ ...base, ...report }] }) },
  };
}

describe('demo outcome', function () {
  const cpu = scenarios.cpu;

  it('passes when the aggressor is named, even behind a system cgroup, and the bystander is not', function () {
    const outcome = judge(session('Completed', { aggressors: [system, etl] }), cpu);
    expect(outcome.ok, JSON.stringify(outcome.checks)).to.equal(true);
    expect(outcome.named).to.equal(etl);
    expect(outcome.checks.map((c) => c.text)).to.include(
      `the aggressor batch/etl (cpu 81%) was named: ${etl.evidence}`,
    );
  });

  it('fails on a None verdict, a missing aggressor, a named bystander or an unfinished session', function () {
    const failed = (s: DiagnosticSession) =>
      judge(s, cpu)
        .checks.filter((c) => !c.ok)
        .map((c) => c.text);
    expect(failed(session('Completed', { verdict: 'None', score: 0 }))).to.deep.equal([
      'the victim shop/checkout got the verdict None',
      'the aggressor batch/etl was not named',
    ]);
    expect(failed(session('Completed', { aggressors: [etl, frontend] }))).to.deep.equal([
      'the bystander web/frontend (cpu 9%) was named too',
    ]);
    expect(failed(session('Running', { aggressors: [etl] }))).to.deep.equal(['the session ended as Running']);
    expect(failed(session('Completed'))).to.include('no report for the victim shop/checkout');
  });

  it('counts any pod of the short-lived stream as the aggressor, and only those', function () {
    const burst: Aggressor = { ...etl, pod: { namespace: 'batch', name: 'burst-17', uid: 'u-b' } };
    expect(judge(session('Completed', { aggressors: [burst] }), scenarios['short-lived']).ok).to.equal(true);
    expect(judge(session('Completed', { aggressors: [etl] }), scenarios['short-lived']).ok).to.equal(false);
  });

  it('writes an aggressor as the session summary does', function () {
    expect(describeAggressor(etl)).to.equal('batch/etl (cpu 81%)');
    expect(describeAggressor(system)).to.equal('/ (cpu 10%)');
  });
});
