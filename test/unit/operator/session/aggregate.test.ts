import { expect } from 'chai';

import type { NodeDiagnosticStatus } from '../../../../crds/node-diagnostic.js';
import { aggregate, describeAggressor, type NodeView } from '../../../../operator/session/aggregate.js';
import { cpuHog, report } from './fixtures.js';

function view(nodeName: string, status: Partial<NodeDiagnosticStatus> | undefined, targets: string[]): NodeView {
  return {
    nodeName,
    targets: new Set(targets),
    status: status && { phase: 'Measuring', observedGeneration: 1, ...status },
    specApplied: (s) => s.observedGeneration === 1,
  };
}

describe('aggregation of node statuses', function () {
  it('keeps the top 50 reports by score and counts the rest', function () {
    const views = Array.from({ length: 30 }, (_, n) => {
      const pods = [0, 1, 2].map((i) => report(`p-${n}-${i}`, 'Low', (n * 3 + i) % 97));
      return view(
        `node-${String(n).padStart(2, '0')}`,
        { pods },
        pods.map((p) => p.uid),
      );
    });
    const agg = aggregate(views);
    expect(agg.summary.victims).to.equal(90);
    expect(agg.reports).to.have.length(50);
    expect(agg.reportsOmitted).to.equal(40);
    const scores = agg.reports.map((r) => r.score);
    expect(scores).to.deep.equal([...scores].sort((a, b) => b - a));
    expect(agg.nodes).to.deep.equal({ total: 30, ready: 30, failed: 0, readyOfTotal: '30/30' });
  });

  it('breaks score ties by verdict, then by name, so the order is stable', function () {
    const pods = [report('b', 'Low', 50), report('a', 'Low', 50), report('c', 'Medium', 50)];
    const agg = aggregate([
      view(
        'n',
        { pods },
        pods.map((p) => p.uid),
      ),
    ]);
    expect(agg.reports.map((r) => r.name)).to.deep.equal(['c', 'a', 'b']);
  });

  it('counts a node ready only once its agent applied the current generation', function () {
    const agg = aggregate([
      view('fresh', { observedGeneration: 1 }, []),
      view('stale', { observedGeneration: 0 }, []),
      view('starting', { phase: 'Starting' }, []),
      view('silent', undefined, []),
    ]);
    expect(agg.nodes.readyOfTotal).to.equal('1/4');
    expect(agg.waiting).to.deep.equal(['silent', 'stale', 'starting']);
  });

  it('flags each node whose agent wrote a malformed status, naming the field, and aggregates the others', function () {
    const good = report('good', 'High', 80);
    const malformed: [string, unknown, RegExp][] = [
      [
        'wrong-types',
        { phase: 'Measuring', pods: 'many', observedGeneration: '1' },
        /^status\.observedGeneration: .*expected number.*status\.pods: .*expected array/,
      ],
      [
        'huge-array',
        { pods: Array.from({ length: 5000 }, (_, i) => report(`p${i}`, 'Low', 1)) },
        /^status\.pods: Too big: expected array to have <=128 items$/,
      ],
      [
        'negative',
        { window: { intervalSeconds: 1, sequence: -3, windowsReported: 1, firstStart: 't', start: 't', end: 't' } },
        /^status\.window\.sequence: Too small.*>=0, status\.window\.firstStart: Invalid ISO datetime, status\.window\.start: .*, 1 more$/,
      ],
      [
        'missing-fields',
        { pods: [{ namespace: 'shop', name: 'x' }] },
        /^status\.pods\[0\]\.uid: .*, status\.pods\[0\]\.verdict: .*, status\.pods\[0\]\.score: /,
      ],
      ['not-an-object', 'Measuring', /^status: Invalid input: expected object, received string$/],
    ];
    const agg = aggregate([
      view('node-good', { pods: [good] }, [good.uid]),
      ...malformed.map(([node, status]) => ({ ...view(node, undefined, []), status })),
    ]);
    expect(agg.unreadable.map((u) => u.node)).to.deep.equal(malformed.map(([node]) => node).sort());
    for (const [node, , message] of malformed)
      expect(agg.unreadable.find((u) => u.node === node)?.message, node).to.match(message);
    expect(agg.reports.map((r) => r.name)).to.deep.equal(['good']);
    expect(agg.nodes).to.include({ total: 6, ready: 1 });
  });

  it('names no top aggressor when the worst victim is unharmed', function () {
    const pods = [report('a', 'None', 3, { aggressors: [cpuHog] })];
    const agg = aggregate([view('n', { pods }, ['uid-a'])]);
    expect(agg.summary).to.deep.equal({ victims: 1, affected: 0, verdict: 'None', worstPod: 'shop/a' });
  });

  it('describes pod and non-pod aggressors', function () {
    expect(describeAggressor(cpuHog)).to.equal('batch/etl-7f9c (cpu 81%)');
    expect(
      describeAggressor({ cgroup: '/system.slice/backup.service', resource: 'io', sharePercent: 64.4, evidence: 'x' }),
    ).to.equal('/system.slice/backup.service (io 64%)');
  });
});
