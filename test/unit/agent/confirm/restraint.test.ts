import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { cpuRestraint, ioRestraint, RestraintJournal } from '../../../../agent/confirm/restraint.js';
import type { CgroupMounts } from '../../../../agent/cgroups/mounts.js';
import { quietLog } from '../../../support/quiet-log.js';

const pod = '/kubepods/burstable/podabc';

describe('restraints', function () {
  let dir: string;
  const file = (...parts: string[]) => join(dir, ...parts);

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'crosstalk-restraint-'));
    for (const h of ['unified', 'cpu', 'blkio']) mkdirSync(file(h, pod), { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const v2: () => CgroupMounts = () => ({
    mountPoints: new Map([['unified', file('unified')]]),
    unifiedControllers: ['cpu', 'io', 'memory'],
  });
  const v1: () => CgroupMounts = () => ({
    mountPoints: new Map([
      ['unified', file('unified')],
      ['cpu', file('cpu')],
      ['blkio', file('blkio')],
    ]),
    unifiedControllers: [],
  });
  const paths = new Map([
    ['unified', pod],
    ['cpu', pod],
    ['blkio', pod],
  ] as const);

  it('caps CPU with cpu.max on cgroup v2 and cpu.cfs_quota_us on v1, keeping what was there', function () {
    const journal = new RestraintJournal(file('state'), quietLog);
    writeFileSync(file('unified', pod, 'cpu.max'), 'max 100000\n');
    expect(journal.apply(cpuRestraint(v2(), 'abc', paths, 100))).to.deep.equal({
      podUid: 'abc',
      what: 'cpu.max 10000 100000 (100m)',
      files: [{ path: file('unified', pod, 'cpu.max'), apply: '10000 100000', restore: 'max 100000' }],
    });
    journal.restore('abc');
    writeFileSync(file('cpu', pod, 'cpu.cfs_period_us'), '50000\n');
    writeFileSync(file('cpu', pod, 'cpu.cfs_quota_us'), '-1\n');
    expect(journal.apply(cpuRestraint(v1(), 'abc', paths, 250)).files).to.deep.equal([
      { path: file('cpu', pod, 'cpu.cfs_quota_us'), apply: '12500', restore: '-1' },
    ]);
  });

  it('reads the previous value when the restraint is applied, not when it was planned', function () {
    const cpuMax = file('unified', pod, 'cpu.max');
    writeFileSync(cpuMax, 'max 100000\n');
    const plan = cpuRestraint(v2(), 'abc', paths, 100);
    // Meanwhile (the experiment watches the victim first) the pod gets a limit of its own.
    writeFileSync(cpuMax, '200000 100000\n');
    const journal = new RestraintJournal(file('state'), quietLog);
    journal.apply(plan);
    expect(readFileSync(cpuMax, 'utf8')).to.equal('10000 100000');
    journal.restore('abc');
    expect(readFileSync(cpuMax, 'utf8')).to.equal('200000 100000');
  });

  it('caps IO on one disk with io.max or the blkio throttle, and removes a rule that was not there', function () {
    writeFileSync(file('unified', pod, 'io.max'), '8:0 rbps=5000 wbps=max riops=max wiops=max\n');
    const disk = { major: 254, minor: 0 };
    const journal = new RestraintJournal(file('state'), quietLog);
    expect(journal.apply(ioRestraint(v2(), 'abc', paths, [], disk, 1048576)).files).to.deep.equal([
      {
        path: file('unified', pod, 'io.max'),
        apply: '254:0 rbps=1048576 wbps=1048576',
        restore: '254:0 rbps=max wbps=max riops=max wiops=max',
      },
    ]);
    // v1 blk-throttle is not hierarchical: every container of the pod gets the cap.
    const containers = [`${pod}/c1`, `${pod}/c2`];
    for (const c of containers) {
      mkdirSync(file('blkio', c));
      writeFileSync(file('blkio', c, 'blkio.throttle.read_bps_device'), c.endsWith('1') ? '254:0 2048\n' : '');
      writeFileSync(file('blkio', c, 'blkio.throttle.write_bps_device'), '');
    }
    const v1Files = journal.apply(ioRestraint(v1(), 'abc', paths, containers, disk, 4096)).files;
    expect(v1Files.map((f) => `${f.path.slice(file('blkio').length)} ${f.restore}`)).to.deep.equal([
      `${pod}/c1/blkio.throttle.read_bps_device 254:0 2048`,
      `${pod}/c1/blkio.throttle.write_bps_device 254:0 0`,
      `${pod}/c2/blkio.throttle.read_bps_device 254:0 0`,
      `${pod}/c2/blkio.throttle.write_bps_device 254:0 0`,
    ]);
  });

  it('journals before writing, puts the exact previous values back, and a new run restores leftovers', function () {
    const cpuMax = file('unified', pod, 'cpu.max');
    writeFileSync(cpuMax, '50000 100000\n');
    const journal = new RestraintJournal(file('state'), quietLog);
    journal.apply(cpuRestraint(v2(), 'abc', paths, 100));
    expect(readFileSync(cpuMax, 'utf8')).to.equal('10000 100000');
    expect(journal.active()).to.deep.equal(['abc']);
    // The agent is killed here; the next run finds the journal and restores first.
    const next = new RestraintJournal(file('state'), quietLog);
    expect(next.restoreLeftovers()).to.equal(1);
    expect(readFileSync(cpuMax, 'utf8')).to.equal('50000 100000');
    expect(next.active()).to.deep.equal([]);
    expect(next.restoreLeftovers()).to.equal(0);
  });

  it('undoes what it wrote when a later file cannot be written, and says so', function () {
    mkdirSync(file('blkio', pod, 'c'));
    for (const name of ['blkio.throttle.read_bps_device', 'blkio.throttle.write_bps_device'])
      writeFileSync(file('blkio', pod, 'c', name), '');
    const writes: string[] = [];
    const journal = new RestraintJournal(file('state'), quietLog, (path, text) => {
      if (path.endsWith('write_bps_device') && !text.endsWith(' 0')) throw new Error('EINVAL');
      writes.push(`${path.split('/').pop()} ${text}`);
    });
    expect(() => journal.apply(ioRestraint(v1(), 'abc', paths, [`${pod}/c`], { major: 8, minor: 0 }, 4096)))
      .to.throw(/cannot restrain pod abc/)
      .with.property('code', 'RestraintFailed');
    expect(writes).to.deep.equal(['blkio.throttle.read_bps_device 8:0 4096', 'blkio.throttle.read_bps_device 8:0 0']);
    expect(journal.active()).to.deep.equal([]);
  });
});
