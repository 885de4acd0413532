// The confirmation restraints on a pure cgroup-v2 node (the VM lane): cpu.max and io.max
// written at a pod-like cgroup hold back the processes of its child, and the journal puts
// the exact previous values back.
import { expect } from 'chai';
import { join } from 'node:path';

import { parseFlatKeyed } from '../../agent/cgroups/files.js';
import { readCgroupMounts } from '../../agent/cgroups/mounts.js';
import { cpuRestraint, ioRestraint, RestraintJournal } from '../../agent/confirm/restraint.js';
import { missingPureCgroupV2 } from '../../testbed/host/requirements.js';
import { diskOf, sleep, useProbeFixture } from '../integration/probes/workloads.js';
import { quietLog } from '../support/quiet-log.js';

describe('confirmation restraints on pure cgroup v2', function () {
  const fixture = useProbeFixture(missingPureCgroupV2);

  it('caps a pod cgroup’s CPU with cpu.max for its children, then restores it exactly', async function () {
    const f = fixture();
    const pod = f.cgroup('pod');
    const container = f.cgroup('pod/app');
    pod.write('cpu.max', '300000 100000'); // a limit of its own, to be put back
    const journal = new RestraintJournal(f.tempDir('crosstalk-journal-'), quietLog);
    const mounts = readCgroupMounts();
    const paths = new Map([['unified', pod.dir().slice(mounts.mountPoints.get('unified')!.length)]] as const);
    f.burner(container, 1);
    await sleep(300);
    const throttled = () => parseFlatKeyed(pod.read('cpu.stat')).get('nr_throttled') ?? 0;
    const before = throttled();
    journal.apply(cpuRestraint(mounts, 'pod', paths, 100));
    expect(pod.read('cpu.max').trim()).to.equal('10000 100000');
    await sleep(1000);
    const during = throttled() - before;
    journal.restore('pod');
    expect(pod.read('cpu.max').trim()).to.equal('300000 100000');
    expect(during, 'periods throttled while capped at 100m').to.be.at.least(5);
  });

  it('caps a pod cgroup’s IO on one disk with io.max, then removes the cap', async function () {
    const f = fixture();
    const pod = f.cgroup('io-pod');
    const container = f.cgroup('io-pod/app');
    const dir = f.tempDir('crosstalk-io-max-');
    const disk = diskOf(dir);
    const mounts = readCgroupMounts();
    const paths = new Map([['unified', pod.dir().slice(mounts.mountPoints.get('unified')!.length)]] as const);
    const journal = new RestraintJournal(f.tempDir('crosstalk-journal-'), quietLog);
    const r = ioRestraint(mounts, 'io-pod', paths, [], disk, 1024 * 1024);
    journal.apply(r);
    const dev = `${disk.major}:${disk.minor}`;
    expect(pod.read('io.max')).to.match(new RegExp(`^${dev} rbps=1048576 wbps=1048576`, 'm'));
    // 4 MiB of direct writes at 1 MiB/s: about 4 s instead of a blink.
    const start = Date.now();
    expect(
      await container.run('dd', ['if=/dev/zero', `of=${join(dir, 'w')}`, 'bs=1M', 'count=4', 'oflag=direct']),
    ).to.equal(0);
    const seconds = (Date.now() - start) / 1000;
    journal.restore('io-pod');
    expect(pod.read('io.max').trim(), 'no cap left').to.equal('');
    expect(seconds, 'the capped write took').to.be.above(2.5);
  });
});
