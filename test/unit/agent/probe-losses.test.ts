import { expect } from 'chai';

import { ProbeLosses } from '../../../agent/probe-losses.js';
import type { ProbeHealth } from '../../../agent/probes/index.js';

const health = (probe: ProbeHealth['probe'], counts: Partial<ProbeHealth>): ProbeHealth => ({
  probe,
  mapFull: 0,
  eventsDropped: 0,
  stackErrors: 0,
  readErrors: 0,
  queueDropped: 0,
  stacksLost: 0,
  ...counts,
});

describe('ProbeLosses', function () {
  it('has no reason while nothing was lost', function () {
    const losses = new ProbeLosses();
    losses.add([health('cpu', { stackErrors: 3 })]);
    expect(losses.of('cpu')).to.deep.equal({ lostEvents: 0, mapOverflows: 0 });
  });

  it('sums windows and names the probe and what overflowed', function () {
    const losses = new ProbeLosses();
    losses.add([health('cpu', { mapFull: 5 }), health('io', { eventsDropped: 2 })]);
    losses.add([health('cpu', { mapFull: 7, queueDropped: 1 })]);
    const cpu = losses.of('cpu');
    expect(cpu).to.include({ lostEvents: 1, mapOverflows: 12 });
    expect(cpu.reason).to.equal(
      '12 kernel map overflows (maps full: cgroups beyond them not counted, shares partial); 1 events not drained in time',
    );
    expect(losses.of('io').reason).to.equal('2 events lost (ring buffer full)');
  });

  it('counts the lifecycle ring’s lost cgroup events against every probe, and forgets on clear', function () {
    const losses = new ProbeLosses();
    losses.add([health('lifecycle', { eventsDropped: 161 })]);
    for (const probe of ['cpu', 'memory']) {
      expect(losses.of(probe)).to.include({ lostEvents: 161, mapOverflows: 0 });
      expect(losses.of(probe).reason).to.match(/161 cgroup events lost \(lifecycle ring buffer full/);
    }
    losses.clear();
    expect(losses.of('cpu')).to.deep.equal({ lostEvents: 0, mapOverflows: 0 });
  });
});
