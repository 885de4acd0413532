import { expect } from 'chai';

import {
  assessVictim,
  type CpuSpan,
  type IoSpan,
  type NeighbourSpan,
  type VictimSpan,
} from '../../../../agent/report/assess.js';
import { scoreOf } from '../../../../agent/report/thresholds.js';

const s = 1e9;
const ms = 1e6;
const pod = (name: string, owner?: { kind: string; name: string }): NeighbourSpan => ({
  ref: { kind: 'Pod', namespace: 'batch', name, uid: `uid-${name}`, ...(owner ? { owner } : {}) },
  ioByDisk: new Map(),
  memoryOverRequestBytes: 0,
  memoryGrowthBytes: 0,
});
const cpu = (c: Partial<CpuSpan>): CpuSpan => ({
  waitNs: 0,
  runNs: 0,
  throttledNs: 0,
  p99WaitNs: 8 * ms,
  waitByNeighbour: new Map(),
  writebackByNeighbour: new Map(),
  ...c,
});
const io = (i: Partial<IoSpan>): IoSpan => ({
  ops: 500,
  p99Ns: 2 * ms,
  requestNs: 1 * s,
  delayedNs: 0,
  delayByNeighbour: new Map(),
  disks: ['vda'],
  ...i,
});

describe('assessing a victim', function () {
  it('names the neighbour that held the CPU while the victim waited', function () {
    const neighbours = new Map([
      ['etl', pod('etl')],
      ['web', pod('web')],
    ]);
    const victim: VictimSpan = {
      wallNs: 10 * s,
      cpu: cpu({
        waitNs: 3.8 * s,
        runNs: 1.2 * s,
        waitByNeighbour: new Map([
          ['etl', 3.1 * s],
          ['web', 0.1 * s],
        ]),
      }),
    };
    const a = assessVictim(victim, neighbours);
    expect(a.verdict).to.equal('High');
    expect(a.selfInflicted).to.be.empty;
    expect(a.aggressors).to.have.length(1);
    expect(a.aggressors[0]!.ref).to.include({ name: 'etl' });
    expect(a.aggressors[0]!.share).to.be.closeTo(0.816, 0.001);
    expect(a.aggressors[0]!.evidence).to.equal(
      "ran on the victim's CPU for 3.1 s of the 3.8 s the victim waited for it (81.6%; single waits p99 8 ms)",
    );
  });

  it('gives a light victim None for tiny waits, whatever their share of its little CPU time', function () {
    // 31 ms waited in 20 s beside 200 ms of running, single waits at most 131 µs.
    const light = cpu({
      waitNs: 31 * ms,
      runNs: 200 * ms,
      p99WaitNs: 131e3,
      waitByNeighbour: new Map([['/', 31 * ms]]),
    });
    const a = assessVictim({ wallNs: 20 * s, cpu: light }, new Map([['/', pod('root')]]));
    expect(a.verdict).to.equal('None');
    expect(a.aggressors).to.be.empty;
    // The same share in waits of several milliseconds is harm.
    expect(assessVictim({ wallNs: 20 * s, cpu: { ...light, p99WaitNs: 8 * ms } }, new Map()).verdict).to.equal('Low');
  });

  it('reads single waits against the session’s threshold', function () {
    const waits = cpu({ waitNs: 1 * s, runNs: 1 * s, p99WaitNs: 1 * ms, waitByNeighbour: new Map([['etl', 1 * s]]) });
    const at = (runqThresholdNs: number) =>
      assessVictim({ wallNs: 10 * s, cpu: waits }, new Map([['etl', pod('etl')]]), { runqThresholdNs }).scores.cpu;
    expect(at(5 * ms)).to.be.below(at(1 * ms)!);
    expect(at(1 * ms)).to.equal(75);
  });

  it('reports the victim’s own CPU quota apart: verdict None, its figures, no neighbour blamed', function () {
    const a = assessVictim(
      { wallNs: 5 * s, cpu: cpu({ waitNs: 0.1 * ms, runNs: 1 * s, throttledNs: 3.8 * s, p99WaitNs: 64e3 }) },
      new Map([['etl', pod('etl')]]),
    );
    expect(a.verdict).to.equal('None');
    expect(a.score).to.equal(0);
    expect(a.selfInflicted).to.have.length(1);
    expect(a.selfInflicted[0]).to.include({ resource: 'cpu', cause: 'CPUQuota', lostNs: 3.8 * s });
    expect(a.selfInflicted[0]!.share).to.be.closeTo(0.76, 1e-9);
    expect(a.selfInflicted[0]!.evidence).to.equal('its own CPU quota: throttled for 3.8 s of 5 s');
    expect(a.aggressors).to.be.empty;
  });

  it('names root-cgroup threads as "/" with their names in the evidence', function () {
    const thread = (pid: number, name: string): NeighbourSpan => ({
      ...pod('x'),
      ref: { kind: 'Thread', pid, name },
    });
    const a = assessVictim(
      {
        wallNs: 10 * s,
        cpu: cpu({
          waitNs: 2 * s,
          runNs: 2 * s,
          waitByNeighbour: new Map([
            ['thread/30', 1.5 * s],
            ['thread/31', 0.3 * s],
            ['thread/32', 0.2 * s],
          ]),
        }),
      },
      new Map([
        ['thread/30', thread(30, 'kworker/1:1')],
        ['thread/31', thread(31, 'ksoftirqd/1')],
        ['thread/32', thread(32, 'ksoftirqd/1')],
      ]),
    );
    expect(a.aggressors).to.have.length(1);
    expect(a.aggressors[0]!.ref).to.deep.equal({ kind: 'Cgroup', path: '/' });
    expect(a.aggressors[0]!.share).to.equal(1);
    expect(a.aggressors[0]!.evidence).to.match(/^threads kworker\/1:1 \(1.5 s\), ksoftirqd\/1 ×2 \(500 ms\) ran on/);
  });

  it('charges kernel threads writing back a pod’s dirty pages to that pod, and says so', function () {
    const a = assessVictim(
      {
        wallNs: 10 * s,
        cpu: cpu({
          waitNs: 3 * s,
          runNs: 3 * s,
          waitByNeighbour: new Map([
            ['backup', 1.2 * s],
            ['thread/30', 0.3 * s],
          ]),
          writebackByNeighbour: new Map([['backup', 0.9 * s]]),
        }),
      },
      new Map([
        ['backup', pod('backup')],
        ['thread/30', { ...pod('x'), ref: { kind: 'Thread', pid: 30, name: 'kworker/1:1' } }],
      ]),
    );
    expect(a.aggressors.map((g) => g.ref)).to.deep.include({
      kind: 'Pod',
      namespace: 'batch',
      name: 'backup',
      uid: 'uid-backup',
    });
    expect(a.aggressors[0]!.evidence).to.equal(
      "ran on the victim's CPU for 1.2 s of the 3 s the victim waited for it " +
        '(40%; 900 ms of it kernel threads writing back its dirty pages; single waits p99 8 ms)',
    );
    // Threads that wrote back nobody's pages stay "/", without that clause.
    expect(a.aggressors[1]!.evidence).to.not.include('writing back');
  });

  it('sums the writeback part over the pods of one workload', function () {
    const job = { kind: 'Job', name: 'ingest' };
    const a = assessVictim(
      {
        wallNs: 10 * s,
        cpu: cpu({
          waitNs: 2 * s,
          runNs: 2 * s,
          waitByNeighbour: new Map([
            ['ingest-1', 1 * s],
            ['ingest-2', 0.5 * s],
          ]),
          writebackByNeighbour: new Map([
            ['ingest-1', 0.25 * s],
            ['ingest-2', 0.25 * s],
          ]),
        }),
      },
      new Map([
        ['ingest-1', pod('ingest-1', job)],
        ['ingest-2', pod('ingest-2', job)],
      ]),
    );
    expect(a.aggressors).to.have.length(1);
    expect(a.aggressors[0]!.evidence)
      .to.include('1.5 s of the 2 s')
      .and.include('500 ms of it kernel threads writing back');
  });

  it('scores IO by the time its requests were in flight beside others’ and names who was in flight', function () {
    const backup: NeighbourSpan = {
      ...pod('backup'),
      ioByDisk: new Map([['vda', { readBytes: 0, writeBytes: 1.2 * 1024 ** 3, ops: 300 }]]),
    };
    const light: NeighbourSpan = {
      ...pod('light'),
      ioByDisk: new Map([['vda', { readBytes: 4096, writeBytes: 0, ops: 1 }]]),
    };
    const a = assessVictim(
      {
        wallNs: 10 * s,
        io: io({
          delayedNs: 0.8 * s,
          delayByNeighbour: new Map([
            ['backup', 0.78 * s],
            ['light', 0.02 * s],
          ]),
        }),
      },
      new Map([
        ['backup', backup],
        ['light', light],
      ]),
    );
    expect(a.scores.io).to.equal(83);
    expect(a.aggressors.map((x) => x.ref)).to.deep.equal([backup.ref]);
    expect(a.aggressors[0]!.share).to.be.closeTo(0.975, 1e-9);
    expect(a.aggressors[0]!.evidence).to.equal(
      "its IO was in flight beside the victim's for 780 ms of the victim's 1 s of IO on vda (wrote 1.2 GiB in 300 IOs)",
    );
  });

  it('does not score IO without enough operations, or when its requests overlap others only briefly', function () {
    const few = assessVictim({ wallNs: s, io: io({ ops: 5, delayedNs: 0.9 * s }) }, new Map());
    expect(few.scores.io).to.be.undefined;
    // 40 µs beside others per request, 90% of its time in flight: a fast device's overlap.
    const fast = assessVictim({ wallNs: s, io: io({ ops: 22_500, delayedNs: 0.9 * s }) }, new Map());
    expect(fast.scores.io).to.equal(0);
    expect(fast.verdict).to.equal('None');
    // 60 µs each: queued behind them.
    const queued = assessVictim({ wallNs: s, io: io({ ops: 15_000, delayedNs: 0.9 * s }) }, new Map());
    expect(queued.scores.io).to.equal(scoreOf('io', 0.9));
  });

  it('charges reclaim to the memory neighbours hold beyond their requests, grown or not', function () {
    // The hog filled the budget before the session began: it holds, it no longer grows.
    const hog: NeighbourSpan = { ...pod('hog'), memoryOverRequestBytes: 160 * 1024 ** 2 };
    const modest: NeighbourSpan = { ...pod('modest'), memoryOverRequestBytes: 1024 ** 2, memoryGrowthBytes: 1e6 };
    const neighbours = new Map([
      ['hog', hog],
      ['modest', modest],
    ]);
    const global = assessVictim(
      { wallNs: 10 * s, memory: { directReclaimNs: 1 * s, memcgReclaimNs: 0, ownLimitHits: 0 } },
      neighbours,
    );
    expect(global.verdict).to.equal('Medium');
    expect(global.aggressors.map((x) => x.ref)).to.deep.equal([hog.ref]);
    expect(global.aggressors[0]!.evidence).to.match(
      /^held 160 MiB beyond its requests \(99.4% of what neighbours held\)/,
    );
    const ancestor = assessVictim(
      { wallNs: 10 * s, memory: { directReclaimNs: 0, memcgReclaimNs: 2 * s, ownLimitHits: 0 } },
      neighbours,
    );
    expect(ancestor.selfInflicted).to.be.empty;
    expect(ancestor.aggressors.map((x) => x.ref)).to.deep.equal([hog.ref]);
  });

  it('reports reclaim at the victim’s own memory limit apart: verdict None, nobody blamed', function () {
    const own = assessVictim(
      { wallNs: 10 * s, memory: { directReclaimNs: 0, memcgReclaimNs: 2 * s, ownLimitHits: 3 } },
      new Map([['hog', { ...pod('hog'), memoryOverRequestBytes: 1024 ** 3 }]]),
    );
    expect(own.verdict).to.equal('None');
    expect(own.selfInflicted[0]).to.include({ resource: 'memory', cause: 'MemoryLimit', lostNs: 2 * s, share: 0.2 });
    expect(own.aggressors).to.be.empty;
  });

  it('ranks aggressors across resources by share weighted with the resource score', function () {
    const neighbours = new Map([
      ['cpu-hog', pod('cpu-hog')],
      ['io-hog', pod('io-hog')],
    ]);
    const a = assessVictim(
      {
        wallNs: 10 * s,
        cpu: cpu({ waitNs: 0.1 * s, runNs: 1 * s, waitByNeighbour: new Map([['cpu-hog', 0.1 * s]]) }),
        io: io({ delayedNs: 0.9 * s, delayByNeighbour: new Map([['io-hog', 0.9 * s]]) }),
      },
      neighbours,
    );
    expect(a.aggressors.map((x) => x.resource)).to.deep.equal(['io', 'cpu']);
    expect(a.score).to.equal(a.scores.io);
  });

  for (const [what, owner, text] of [
    ['one controller', { kind: 'Job', name: 'burst' }, 'of Job batch/burst'],
    ['no controller but one app label', { kind: 'app', name: 'airflow-task' }, 'labelled app=airflow-task'],
  ] as const) {
    it(`judges pods of ${what} together and names the group by its largest pod`, function () {
      const neighbours = new Map([...Array(20).keys()].map((i) => [`b${i}`, pod(`burst-${i}`, owner)]));
      // Each pod holds 1.5-3.4% of the wait: none alone would be named.
      const waitByNeighbour = new Map([...Array(20).keys()].map((i) => [`b${i}`, (0.1 + i * 0.01) * s]));
      const a = assessVictim(
        { wallNs: 10 * s, cpu: cpu({ waitNs: 5.9 * s, runNs: 4 * s, waitByNeighbour }) },
        neighbours,
      );
      expect(a.aggressors).to.have.length(1);
      expect(a.aggressors[0]!.ref).to.include({ name: 'burst-19' });
      expect(a.aggressors[0]!.share).to.be.closeTo(3.9 / 5.9, 0.001);
      expect(a.aggressors[0]!.evidence).to.equal(
        `with 19 more pods ${text}: ran on the victim's CPU for 3.9 s of the 5.9 s the victim waited for it (66.1%; single waits p99 8 ms)`,
      );
    });
  }
});
