import { expect } from 'chai';

import { emptyCounters } from '../../../agent/measure/counters.js';
import { runnerSnapshotJson, SessionRunner, type StatusContext } from '../../../agent/session-runner.js';
import type { NodeDiagnostic, SlowEvent } from '../../../crds/index.js';
import { nodeDiagnostic, pod, podRef } from '../../fixtures/api-objects.js';

const t0 = Date.parse('2026-11-25T12:00:00Z'); // the fixture's creationTimestamp: window 1 starts here
const victim = pod('shop', 'checkout-1');
const session = { namespace: 'shop', name: 'checkout' };

const context: StatusContext = {
  instance: 'agent-a',
  probes: [{ name: 'cpu', state: 'Active', lostEvents: 0, mapOverflows: 0 }],
  failure: undefined,
  victim: () => undefined,
};

function diagnostic(options: { interval?: string; deadline?: string; maxEvents?: number } = {}): NodeDiagnostic {
  const nd = nodeDiagnostic(session, 'node-a', [podRef(victim)], { interval: '10s', ...options });
  return options.maxEvents === undefined ? nd : { ...nd, spec: { ...nd.spec, maxEvents: options.maxEvents } };
}

/** A second of the victim waiting `waitMs` for its CPU. */
function waited(waitMs: number) {
  const counters = emptyCounters({ kind: 'Pod', namespace: 'shop', name: 'checkout-1', uid: victim.metadata.uid });
  counters.cpu.waitNs = waitMs * 1e6;
  counters.cpu.oncpuNs = (1000 - waitMs) * 1e6;
  return new Map([[`pod/${victim.metadata.uid}`, counters]]);
}

const slowEvent = (latencyMs: number): SlowEvent => ({
  time: new Date(t0).toISOString(),
  probe: 'cpu',
  namespace: 'shop',
  pod: 'checkout-1',
  latencyMs,
});

describe('SessionRunner', function () {
  it('closes windows at their end on the grid from the creation time, and reports nothing before the first', function () {
    const runner = new SessionRunner(diagnostic(), t0 + 3000);
    expect(runner.closesAtMs, 'the first window ends on the grid').to.equal(t0 + 10_000);
    expect(runner.status(context)).to.not.have.any.keys('window', 'pods', 'events');
    runner.add(waited(100));
    runner.closeWindow(t0 + 10_000);
    const status = runner.status(context);
    expect(status.window).to.deep.include({
      sequence: 1,
      windowsReported: 1,
      start: new Date(t0 + 3000).toISOString(),
      end: new Date(t0 + 10_000).toISOString(),
    });
    expect(status.pods?.[0]?.metrics?.cpu?.runqWaitSeconds).to.be.closeTo(0.1, 1e-9);
    expect(runner.closesAtMs).to.equal(t0 + 20_000);
  });

  it('names a victim the pod informer does not know by its target, without containers', function () {
    const runner = new SessionRunner(diagnostic(), t0);
    runner.closeWindow(t0 + 10_000);
    const unknown = runner.status(context).pods?.[0];
    expect(unknown).to.deep.include(podRef(victim));
    expect(unknown).to.not.have.property('containers');
    const known = runner.status({ ...context, victim: (uid) => ({ ...podRef(victim), uid, containers: ['app'] }) });
    expect(known.pods?.[0]?.containers).to.deep.equal(['app']);
  });

  it('stops at the deadline: the last window ends there, and reads after it are never counted', function () {
    const runner = new SessionRunner(diagnostic({ deadline: new Date(t0 + 15_000).toISOString() }), t0);
    runner.closeWindow(t0 + 10_000);
    expect(runner.closesAtMs, 'the deadline comes before the window end').to.equal(t0 + 15_000);
    expect(runner.stopped).to.be.false;
    runner.closeWindow(t0 + 16_000);
    expect(runner.stopped).to.be.true;
    const status = runner.status(context);
    expect(status.phase).to.equal('Stopped');
    expect(status.window?.end).to.equal(new Date(t0 + 15_000).toISOString());
    const before = status.pods?.[0]?.metrics?.cpu?.runqWaitSeconds;
    runner.add(waited(900));
    runner.closeWindow(t0 + 17_000);
    expect(runner.status(context).pods?.[0]?.metrics?.cpu?.runqWaitSeconds, 'a read after the deadline').to.equal(
      before,
    );
  });

  it('reports a probe failure as the phase and message', function () {
    const status = new SessionRunner(diagnostic(), t0).status({ ...context, failure: 'loading eBPF needs root' });
    expect(status).to.include({ phase: 'Failed', message: 'loading eBPF needs root', observedGeneration: 1 });
  });

  it('keeps the newest maxEvents slow events and counts the ones it dropped', function () {
    const runner = new SessionRunner(diagnostic({ maxEvents: 2 }), t0);
    for (const ms of [1, 2, 3]) runner.recordEvent(slowEvent(ms));
    runner.closeWindow(t0 + 10_000);
    const status = runner.status(context);
    expect(status.events?.map((e) => e.latencyMs)).to.deep.equal([2, 3]);
    expect(status.eventsDropped).to.equal(1);

    const none = new SessionRunner(diagnostic({ maxEvents: 0 }), t0);
    none.recordEvent(slowEvent(1));
    none.closeWindow(t0 + 10_000);
    expect(none.status(context)).to.deep.include({ events: [], eventsDropped: 1 });
  });

  it('starts a fresh measure for a new interval or probe set, and keeps it when only the targets change', function () {
    const runner = new SessionRunner(diagnostic(), t0);
    runner.closeWindow(t0 + 10_000);
    const nd = diagnostic();
    runner.update(
      { ...nd, spec: { ...nd.spec, targets: [...nd.spec.targets, podRef(pod('shop', 'cart-1'))] } },
      t0 + 11_000,
    );
    expect(runner.status(context).window?.windowsReported, 'targets only').to.equal(1);
    expect(runner.victimUids()).to.have.length(2);
    runner.update(
      { ...nd, spec: { ...nd.spec, probes: { ...nd.spec.probes, io: { ...nd.spec.probes.io, enabled: false } } } },
      t0 + 12_000,
    );
    runner.closeWindow(t0 + 20_000);
    expect(runner.status(context).window?.windowsReported, 'new probes').to.equal(1);
    runner.update(diagnostic({ interval: '5s' }), t0 + 21_000);
    expect(runner.closesAtMs, 'a new interval').to.equal(t0 + 25_000);
  });

  it('continues from a snapshot of the same object and interval, and starts afresh from any other', function () {
    const before = new SessionRunner(diagnostic({ maxEvents: 5 }), t0);
    before.add(waited(200));
    before.recordEvent(slowEvent(7));
    before.closeWindow(t0 + 10_000);
    const saved = runnerSnapshotJson.parse(JSON.parse(JSON.stringify(before.snapshot())));

    const resumed = new SessionRunner(diagnostic({ maxEvents: 5 }), t0 + 12_000, saved);
    expect(resumed.restored).to.be.true;
    resumed.closeWindow(t0 + 20_000);
    const status = resumed.status(context);
    expect(status.window).to.include({ sequence: 2, windowsReported: 2 });
    expect(status.events?.map((e) => e.latencyMs)).to.deep.equal([7]);
    expect(status.pods?.[0]?.metrics?.cpu?.runqWaitSeconds).to.be.closeTo(0.2, 1e-9);

    const otherInterval = new SessionRunner(diagnostic({ interval: '5s' }), t0 + 12_000, saved);
    const otherObject = new SessionRunner(diagnostic(), t0 + 12_000, { ...saved, nodeDiagnosticUid: 'another' });
    for (const fresh of [otherInterval, otherObject]) {
      expect(fresh.restored).to.be.false;
      fresh.closeWindow(fresh.closesAtMs);
      expect(fresh.status(context).window?.windowsReported).to.equal(1);
    }
  });

  it('ends as Skipped an experiment a killed agent left Running, and never retries its suspect', function () {
    const before = new SessionRunner(diagnostic(), t0);
    const etl = podRef(pod('batch', 'etl'));
    const cron = podRef(pod('batch', 'cron'));
    const restraint = 'cpu.max 10000 100000 (100m)';
    before.recordConfirmation(victim.metadata.uid, 'cpu', {
      result: 'Running',
      suspect: etl,
      lossBeforePercent: 60,
      lossDuringPercent: 5,
      restraint,
    });
    const judged = { result: 'NotConfirmed', reason: 'r', suspect: cron } as const;
    before.recordConfirmation(victim.metadata.uid, 'io', judged);
    before.closeWindow(t0 + 10_000);
    const saved = runnerSnapshotJson.parse(JSON.parse(JSON.stringify(before.snapshot())));

    const resumed = new SessionRunner(diagnostic(), t0 + 12_000, saved);
    expect(resumed.snapshot().confirmations).to.deep.equal([
      [
        `${victim.metadata.uid}/${etl.uid}/cpu`,
        {
          result: 'Skipped',
          reason: "interrupted by an agent restart; the suspect's settings were restored",
          suspect: etl,
          lossBeforePercent: 60,
          lossDuringPercent: 5,
          restraint,
        },
      ],
      [`${victim.metadata.uid}/${cron.uid}/io`, judged],
    ]);
    expect(resumed.testedSuspect(etl.uid, 'cpu')).to.be.true;
  });
});
