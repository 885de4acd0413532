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
