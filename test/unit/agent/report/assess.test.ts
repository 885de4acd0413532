import { expect } from 'chai';

import { assessVictim, type NeighbourSpan, type VictimSpan } from '../../../../agent/report/assess.js';

const s = 1e9;
const pod = (name: string): NeighbourSpan => ({
  ref: { kind: 'Pod', namespace: 'batch', name, uid: `uid-${name}` },
  ioByDisk: new Map(),
  memoryGrowthBytes: 0,
});

describe('assessing a victim', function () {
  it('names the neighbour that held the CPU while the victim waited', function () {
    const neighbours = new Map([
      ['etl', pod('etl')],
      ['web', pod('web')],
    ]);
    const victim: VictimSpan = {
      wallNs: 10 * s,
      cpu: {
        waitNs: 3.8 * s,
        runNs: 1.2 * s,
        throttledNs: 0,
        waitByNeighbour: new Map([
          ['etl', 3.1 * s],
          ['web', 0.1 * s],
        ]),
      },
    };
    const a = assessVictim(victim, neighbours);
    expect(a.verdict).to.equal('High');
    expect(a.selfInflicted).to.be.empty;
    expect(a.aggressors).to.have.length(1);
    expect(a.aggressors[0]!.ref).to.include({ name: 'etl' });
    expect(a.aggressors[0]!.share).to.be.closeTo(0.816, 0.001);
    expect(a.aggressors[0]!.evidence).to.equal(
      "ran on the victim's CPU for 3.1 s of the 3.8 s the victim waited for it (81.6%)",
    );
  });

  it('gives None and names nobody when the victim does not wait', function () {
    const a = assessVictim(
      {
        wallNs: 10 * s,
        cpu: { waitNs: 0.01 * s, runNs: 5 * s, throttledNs: 0, waitByNeighbour: new Map([['etl', 0.01 * s]]) },
      },
      new Map([['etl', pod('etl')]]),
    );
    expect(a.verdict).to.equal('None');
    expect(a.aggressors).to.be.empty;
  });

  it('blames the victim’s own CPU quota, not a neighbour, when throttling explains the loss', function () {
    const a = assessVictim(
      {
        wallNs: 5 * s,
        cpu: { waitNs: 3.9 * s, runNs: 1 * s, throttledNs: 3.8 * s, waitByNeighbour: new Map([['etl', 0.3 * s]]) },
      },
      new Map([['etl', pod('etl')]]),
    );
    expect(a.verdict).to.equal('High');
    expect(a.selfInflicted).to.have.length(1);
    expect(a.selfInflicted[0]).to.include({ resource: 'cpu', cause: 'CPUQuota' });
    expect(a.selfInflicted[0]!.evidence).to.match(/own CPU quota/);
    expect(a.aggressors).to.be.empty;
  });

  it('scores IO against the victim’s baseline and ranks neighbours by bytes on its disks', function () {
    const backup: NeighbourSpan = {
      ...pod('backup'),
      ioByDisk: new Map([['vda', { readBytes: 0, writeBytes: 1.2 * 1024 ** 3, ops: 300 }]]),
    };
    const elsewhere: NeighbourSpan = {
      ...pod('elsewhere'),
      ioByDisk: new Map([['vdb', { readBytes: 5 * 1024 ** 3, writeBytes: 0, ops: 900 }]]),
    };
    const a = assessVictim(
      { wallNs: 10 * s, io: { ops: 500, p99Ns: 14e6, baselineP99Ns: 1.1e6, disks: ['vda'] } },
      new Map([
        ['backup', backup],
        ['elsewhere', elsewhere],
      ]),
    );
    expect(a.scores.io).to.equal(83);
    expect(a.aggressors.map((x) => x.ref)).to.deep.equal([backup.ref]);
    expect(a.aggressors[0]!.evidence).to.match(/^wrote 1.2 GiB in 300 IOs on vda while the victim's IO p99 was 14 ms/);
  });

  it('does not score IO without enough operations or a baseline', function () {
    const a = assessVictim({ wallNs: s, io: { ops: 5, p99Ns: 50e6, baselineP99Ns: 1e6, disks: ['vda'] } }, new Map());
    expect(a.scores.io).to.be.undefined;
    expect(a.verdict).to.equal('None');
  });

  it('separates reclaim of the victim’s own limit from node-wide reclaim caused by growth', function () {
    const grower: NeighbourSpan = { ...pod('cache-hog'), memoryGrowthBytes: 2 * 1024 ** 3 };
    const shrinker: NeighbourSpan = { ...pod('quiet'), memoryGrowthBytes: -1e6 };
    const neighbours = new Map([
      ['hog', grower],
      ['quiet', shrinker],
    ]);
    const global = assessVictim(
      { wallNs: 10 * s, memory: { directReclaimNs: 1 * s, memcgReclaimNs: 0, ownLimitHits: 0 } },
      neighbours,
    );
    expect(global.verdict).to.equal('Medium');
    expect(global.aggressors.map((x) => x.ref)).to.deep.equal([grower.ref]);
    const own = assessVictim(
      { wallNs: 10 * s, memory: { directReclaimNs: 0, memcgReclaimNs: 2 * s, ownLimitHits: 3 } },
      neighbours,
    );
    expect(own.selfInflicted[0]!.resource).to.equal('memory');
    expect(own.aggressors).to.be.empty;
    const ancestor = assessVictim(
      { wallNs: 10 * s, memory: { directReclaimNs: 0, memcgReclaimNs: 2 * s, ownLimitHits: 0 } },
      neighbours,
    );
    expect(ancestor.selfInflicted).to.be.empty;
    expect(ancestor.aggressors.map((x) => x.ref)).to.deep.equal([grower.ref]);
  });

  it('ranks aggressors across resources by share weighted with the resource score', function () {
    const neighbours = new Map([
      ['cpu-hog', pod('cpu-hog')],
      ['io-hog', { ...pod('io-hog'), ioByDisk: new Map([['vda', { readBytes: 1e9, writeBytes: 0, ops: 100 }]]) }],
    ]);
    const a = assessVictim(
      {
        wallNs: 10 * s,
        cpu: { waitNs: 0.1 * s, runNs: 1 * s, throttledNs: 0, waitByNeighbour: new Map([['cpu-hog', 0.1 * s]]) },
        io: { ops: 100, p99Ns: 30e6, baselineP99Ns: 1e6, disks: ['vda'] },
      },
      neighbours,
    );
    expect(a.aggressors.map((x) => x.resource)).to.deep.equal(['io', 'cpu']);
    expect(a.score).to.equal(a.scores.io);
  });

  it('judges the pods of one controller together and names the group by its largest pod', function () {
    const burst = (i: number): NeighbourSpan => ({
      ref: { kind: 'Pod', namespace: 'batch', name: `burst-${i}`, uid: `b${i}`, owner: { kind: 'Job', name: 'burst' } },
      ioByDisk: new Map(),
      memoryGrowthBytes: 0,
    });
    const neighbours = new Map([...Array(20).keys()].map((i) => [`b${i}`, burst(i)]));
    // Each pod holds 1.5-3.4% of the wait: none alone would be named.
    const waitByNeighbour = new Map([...Array(20).keys()].map((i) => [`b${i}`, (0.1 + i * 0.01) * s]));
    const a = assessVictim(
      { wallNs: 10 * s, cpu: { waitNs: 5.9 * s, runNs: 4 * s, throttledNs: 0, waitByNeighbour } },
      neighbours,
    );
    expect(a.aggressors).to.have.length(1);
    expect(a.aggressors[0]!.ref).to.include({ name: 'burst-19' });
    expect(a.aggressors[0]!.share).to.be.closeTo(3.9 / 5.9, 0.001);
    expect(a.aggressors[0]!.evidence).to.match(
      /^with 19 more pods of Job batch\/burst: ran on the victim's CPU for 3.9 s/,
    );
  });
});
