import { expect } from 'chai';

import { emptyCounters, type SubjectCounters } from '../../../../agent/measure/counters.js';
import type { SubjectRef } from '../../../../agent/report/assess.js';
import { podReport } from '../../../../agent/report/pod-report.js';
import { maxNeighbours, measureSnapshotJson, SessionMeasure } from '../../../../agent/windows/session-measure.js';

const pod = (name: string): SubjectRef => ({ kind: 'Pod', namespace: 'ns', name, uid: name });
const all = new Set(['cpu', 'io', 'memory', 'cache'] as const);

function tick(fill: (key: string, c: SubjectCounters) => void, ...names: string[]): Map<string, SubjectCounters> {
  return new Map(
    names.map((name) => {
      const c = emptyCounters(pod(name));
      fill(`pod/${name}`, c);
      return [`pod/${name}`, c];
    }),
  );
}

/** One second in which the victim waits `waitMs` while the aggressor runs. */
const contended = (waitMs: number) =>
  tick(
    (key, c) => {
      if (key === 'pod/victim') {
        c.cpu.waitNs = waitMs * 1e6;
        c.cpu.oncpuNs = (1000 - waitMs) * 1e6;
        c.cpu.waitBy.set('pod/etl', waitMs * 1e6);
        if (waitMs > 0) c.cpu.waitHistogram[13] = waitMs / 5; // single waits of 4-8 ms
      } else c.cpu.oncpuNs = waitMs * 1e6;
    },
    'victim',
    'etl',
  );

/** 100 victim reads of 1-2 ms, `delayedMs` of their time with the backup's writes in flight. */
const ioTick = (delayedMs: number) =>
  tick(
    (key, c) => {
      if (key === 'pod/victim') {
        c.io.completed = 100;
        c.io.latencyHistogram[11] = 100;
        c.io.requestNs = 150e6;
        c.io.delayedNs = delayedMs * 1e6;
        c.io.delayBy.set('pod/backup', delayedMs * 1e6);
        c.io.byDisk.set('vda', { readBytes: 409600, writeBytes: 0, ops: 100 });
      } else c.io.byDisk.set('vda', { readBytes: 0, writeBytes: 512 * 2 ** 20, ops: 512 });
    },
    'victim',
    'backup',
  );

/** A window of the victim's cycles and instructions while `otherCpuMs` of others ran. */
const cacheTick = (cpi: number, otherCpuMs: number) =>
  tick(
    (key, c) => {
      if (key === 'pod/victim') {
        c.cache.instructions = 1e9;
        c.cache.cycles = cpi * 1e9;
        c.cpu.oncpuNs = 900e6;
      } else c.cpu.oncpuNs = otherCpuMs * 1e6;
    },
    'victim',
    'batch',
  );

describe('a session measure', function () {
  it('numbers windows by time from the epoch and folds them into the session', function () {
    const m = new SessionMeasure(1000, -4000, 0, all);
    expect(m.windowEndMs).to.equal(1000);
    m.add(contended(500));
    const first = m.closeWindow(['victim'], 1000);
    expect(first).to.include({ sequence: 5, startMs: 0, endMs: 1000 });
    expect(first.window.get('victim')!.verdict).to.equal('High');
    m.add(contended(0));
    m.closeWindow(['victim'], 2000);
    const summary = m.summary('victim');
    expect(m.windowsReported).to.equal(2);
    expect(m.sequence).to.equal(6);
    expect(summary.counters!.cpu.waitNs).to.equal(500e6);
    expect(summary.lastWindow!.verdict).to.equal('None');
    // 0.5 s of 2 s wanted-CPU spent waiting: 25% -> Medium over the session.
    expect(summary.assessment.verdict).to.equal('Medium');
    expect(summary.assessment.aggressors[0]!.ref).to.include({ name: 'etl' });
  });

  it('does not count waits on an idle CPU (wakeup latency) or behind the victim’s own tasks', function () {
    const m = new SessionMeasure(1000, 0, 0, all);
    m.add(
      tick(
        (key, c) => {
          if (key !== 'pod/victim') return;
          c.cpu.waitNs = 300e6;
          c.cpu.idleWaitNs = 200e6;
          c.cpu.waitBy.set('pod/victim', 80e6);
          c.cpu.waitBy.set('pod/etl', 20e6);
          c.cpu.oncpuNs = 400e6;
        },
        'victim',
        'etl',
      ),
    );
    m.closeWindow(['victim'], 1000);
    const { assessment, span } = m.summary('victim');
    expect(span.cpu!.waitNs).to.equal(20e6);
    expect(assessment.verdict).to.equal('None');
  });

  it('starts late mid-window and skips the windows it missed', function () {
    const m = new SessionMeasure(1000, 0, 2500, all);
    expect(m.windowEndMs).to.equal(3000);
    expect(m.closeWindow(['victim'], 3000).sequence).to.equal(3);
    // Stalled past a boundary: the window ending at 5200 is number 4 and covers 3000-5200.
    expect(m.closeWindow(['victim'], 5200)).to.include({ sequence: 4, startMs: 3000 });
    expect(m.windowEndMs).to.equal(6000);
    expect(m.windowsReported).to.equal(2);
  });

  it('judges IO by the time the victim’s requests spent beside others’, from the first window on', function () {
    const m = new SessionMeasure(1000, 0, 0, all);
    // The backup ran before the session began: no quiet window is needed.
    m.add(ioTick(120));
    const noisy = m.closeWindow(['victim'], 1000);
    expect(noisy.window.get('victim')!.verdict).to.equal('High');
    expect(noisy.window.get('victim')!.aggressors[0]!.ref).to.include({ name: 'backup' });
    m.add(ioTick(5));
    expect(m.closeWindow(['victim'], 2000).window.get('victim')!.verdict).to.equal('None');
    const report = podReport(
      { namespace: 'ns', name: 'victim', uid: 'victim', containers: [] },
      m.summary('victim'),
      m.coveredWallNs,
    );
    expect(report.metrics!.io).to.deep.include({ delayedPercent: 41.67, delayedSeconds: 0.125, ops: 200 });
  });

  it('takes the CPI baseline only from windows without contention', function () {
    const m = new SessionMeasure(1000, 0, 0, all);
    const reportOf = () =>
      podReport({ namespace: 'ns', name: 'victim', uid: 'victim', containers: [] }, m.summary('victim'), 1e9);
    m.add(cacheTick(3, 900)); // contended: never a baseline, however it compares
    expect(m.closeWindow(['victim'], 1000).window.get('victim')!.scores.cache).to.equal(0);
    expect(m.summary('victim').span.cache?.baselineCpi).to.be.undefined;
    expect(reportOf().metrics?.cache).to.deep.include({ cpi: 3, baseline: 'None' });
    m.add(cacheTick(1, 20)); // others ran 2% of a CPU: a baseline sample
    m.closeWindow(['victim'], 2000);
    m.add(cacheTick(3, 900));
    const window = m.closeWindow(['victim'], 3000).window.get('victim')!;
    expect(window.scores.cache).to.equal(100);
    expect(reportOf().metrics?.cache).to.deep.include({ baseline: 'QuietWindows', baselineCpi: 1 });
  });

  it('renders the session into an API pod report', function () {
    const m = new SessionMeasure(1000, 0, 0, all);
    m.add(contended(600));
    m.closeWindow(['victim'], 1000);
    const report = podReport(
      { namespace: 'ns', name: 'victim', uid: 'victim', containers: ['app'] },
      m.summary('victim'),
      m.coveredWallNs,
    );
    expect(report).to.deep.include({
      verdict: 'High',
      containers: ['app'],
      lastWindow: { verdict: 'High', score: 91 },
    });
    expect(report.metrics!.cpu).to.include({ runqWaitSeconds: 0.6, waitPercent: 60 });
    expect(report.aggressors).to.deep.equal([
      {
        pod: { namespace: 'ns', name: 'etl', uid: 'etl' },
        resource: 'cpu',
        sharePercent: 100,
        evidence:
          "ran on the victim's CPU for 600 ms of the 600 ms the victim waited for it (100%; single waits p99 8.19 ms)",
      },
    ]);
  });

  it('reports a victim that never ran as None with no figures', function () {
    const m = new SessionMeasure(1000, 0, 0, all);
    m.closeWindow(['idle'], 1000);
    const report = podReport({ namespace: 'ns', name: 'idle', uid: 'idle', containers: [] }, m.summary('idle'), 1e9);
    expect(report).to.deep.equal({
      namespace: 'ns',
      name: 'idle',
      uid: 'idle',
      verdict: 'None',
      score: 0,
      scores: {},
      lastWindow: { verdict: 'None', score: 0 },
    });
  });

  it('survives a restart through its JSON snapshot without counting a window twice', function () {
    const m = new SessionMeasure(1000, 0, 0, all);
    m.add(contended(500));
    m.closeWindow(['victim'], 1000);
    const saved = measureSnapshotJson.parse(JSON.parse(JSON.stringify(m.snapshot())));
    const resumed = SessionMeasure.restore(saved, all, 2500);
    expect(resumed.windowEndMs).to.equal(3000);
    expect(resumed.summary('victim')).to.deep.equal(m.summary('victim'));
    resumed.add(contended(200));
    expect(resumed.closeWindow(['victim'], 3000).sequence).to.equal(3);
    expect(resumed.windowsReported).to.equal(2);
    expect(resumed.summary('victim').counters!.cpu.waitNs).to.equal(700e6);
  });

  it('keeps the part of the wait kernel threads spent writing back a neighbour’s pages, across a restart', function () {
    const m = new SessionMeasure(1000, 0, 0, all);
    m.add(
      tick(
        (key, c) => {
          if (key !== 'pod/victim') return;
          c.cpu.waitNs = 400e6;
          c.cpu.oncpuNs = 600e6;
          c.cpu.waitHistogram[13] = 80;
          c.cpu.waitBy.set('pod/backup', 400e6);
          c.cpu.writebackBy.set('pod/backup', 300e6);
        },
        'victim',
        'backup',
      ),
    );
    m.closeWindow(['victim'], 1000);
    const { span, assessment } = m.summary('victim');
    expect(Object.fromEntries(span.cpu!.writebackByNeighbour)).to.deep.equal({ 'pod/backup': 300e6 });
    expect(assessment.aggressors[0]!.evidence).to.include('300 ms of it kernel threads writing back its dirty pages');
    const json = JSON.parse(JSON.stringify(m.snapshot())) as { total: [string, { cpu: Record<string, unknown> }][] };
    expect(SessionMeasure.restore(measureSnapshotJson.parse(json), all, 1000).summary('victim')).to.deep.equal(
      m.summary('victim'),
    );
    // An agent from before writeback attribution saved no such part.
    for (const [, c] of json.total) delete c.cpu.writebackBy;
    const older = SessionMeasure.restore(measureSnapshotJson.parse(json), all, 1000).summary('victim');
    expect(older.span.cpu!.writebackByNeighbour.size).to.equal(0);
    expect(older.span.cpu!.waitByNeighbour.get('pod/backup')).to.equal(400e6);
  });

  it('keeps its totals bounded under container churn, dropping the neighbours that took least', function () {
    const m = new SessionMeasure(1000, 0, 0, all);
    for (let w = 0; w < 3; w++) {
      const t = tick(
        (key, c) => {
          if (key === 'pod/victim') {
            c.cpu.waitNs = 500e6;
            c.cpu.waitBy.set('pod/etl', 400e6);
            c.cpu.waitHistogram[13] = 100;
          }
        },
        'victim',
        'etl',
        ...Array.from({ length: 600 }, (_, i) => `churn-${w}-${i}`),
      );
      m.add(t);
      m.closeWindow(['victim'], (w + 1) * 1000);
    }
    expect(m.subjects).to.equal(maxNeighbours + 1);
    expect(m.summary('victim').assessment.aggressors[0]!.ref).to.include({ name: 'etl' });
  });
});
