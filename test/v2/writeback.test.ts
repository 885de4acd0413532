// What only a pure cgroup-v2 node shows: buffered writes are written back later by a
// kworker, and the io probe charges those bytes to the cgroup that dirtied the pages
// (the bio's blkcg), not to the kworker, not to the cgroup whose `sync` forced them out.
// The kernel's own io.stat of the dirtying cgroup must agree with the probe.
import { expect } from 'chai';
import { join } from 'node:path';

import type { BlockDevice, IoWindow, SlowIoEvent } from '../../agent/probes/index.js';
import { blockDeviceOf } from '../../testbed/host/block-device.js';
import type { TestCgroup } from '../../testbed/host/cgroups.js';
import { missingPureCgroupV2 } from '../../testbed/host/requirements.js';
import { diskOf, useProbeFixture } from '../integration/probes/workloads.js';

const MiB = 1024 * 1024;
const rootCgroupId = 1n;

function writtenBytes(io: IoWindow, owner: bigint, disk: BlockDevice): number {
  return io.traffic
    .filter(
      (t) => t.cgroupId === owner && t.op === 'write' && t.device.major === disk.major && t.device.minor === disk.minor,
    )
    .reduce((sum, t) => sum + t.bytes, 0);
}

/** The cgroup's own count of bytes written to a device (io.stat wbytes). */
function ioStatWbytes(cg: TestCgroup, device: string): number {
  const line = cg
    .read('io.stat')
    .split('\n')
    .find((l) => l.startsWith(`${device} `));
  return Number(/wbytes=(\d+)/.exec(line ?? '')?.[1] ?? 0);
}

/** Dirty page-cache bytes charged to the cgroup (memory.stat file_dirty). */
function dirtyBytes(cg: TestCgroup): number {
  return Number(/^file_dirty (\d+)$/m.exec(cg.read('memory.stat'))?.[1] ?? 0);
}

describe('buffered writeback on pure cgroup v2', function () {
  const fixture = useProbeFixture(missingPureCgroupV2);

  it('charges a kworker’s writeback to the dirtying cgroup, not to the cgroup that ran sync', async function () {
    const f = fixture();
    const dir = f.tempDir('crosstalk-writeback-');
    const dirtier = f.cgroup('dirtier');
    const syncer = f.cgroup('syncer');
    const session = f.open({ probes: ['io'], ioSlowNs: 0 });
    expect(session.status().find((s) => s.probe === 'io')?.hierarchyId, 'owners are unified ids').to.equal(0);
    const ids = { dirtier: dirtier.id(), syncer: syncer.id() };
    session.setTargets([
      { hierarchyId: 0, id: ids.dirtier },
      { hierarchyId: 0, id: ids.syncer },
    ]);
    const disk = diskOf(dir);
    const device = blockDeviceOf(dir);
    session.attach();

    // A fresh file: over an existing one, ext4's auto_da_alloc flushes at close from dd.
    expect(await dirtier.run('dd', ['if=/dev/zero', `of=${join(dir, 'fresh')}`, 'bs=1M', 'count=32'])).to.equal(0);
    expect(dirtyBytes(dirtier), 'dirty pages left behind by dd').to.be.at.least(30 * MiB);
    const statBefore = ioStatWbytes(dirtier, device);
    expect(await syncer.run('sync')).to.equal(0);
    const statWritten = ioStatWbytes(dirtier, device) - statBefore;

    const { io } = await session.read();
    const probeWritten = writtenBytes(io!, ids.dirtier, disk);
    console.log(
      `      written back for the dirtier: probe ${probeWritten / MiB} MiB, io.stat ${statWritten / MiB} MiB; ` +
        `syncer ${writtenBytes(io!, ids.syncer, disk)} B, root ${writtenBytes(io!, rootCgroupId, disk)} B`,
    );
    expect(probeWritten).to.be.at.least(32 * MiB);
    expect(probeWritten, 'probe vs the kernel’s io.stat').to.be.closeTo(statWritten, 0.05 * statWritten);
    expect(writtenBytes(io!, ids.syncer, disk), 'bytes charged to the syncer').to.be.below(MiB);
    // The root keeps only the filesystem's own metadata and journal writes.
    expect(writtenBytes(io!, rootCgroupId, disk), 'bytes charged to the root').to.be.below(4 * MiB);

    const writes = session.drainEvents().filter((e): e is SlowIoEvent => e.type === 'slow-io' && e.op === 'write');
    const byKworkers = writes
      .filter((e) => e.comm.startsWith('kworker') && e.cgroup.id === ids.dirtier)
      .reduce((n, e) => n + e.bytes, 0);
    expect(byKworkers, 'the dirtier’s bytes issued by kworkers').to.be.at.least(32 * MiB);
    expect(
      writes.filter((e) => e.comm === 'dd'),
      'requests issued by dd itself',
    ).to.have.length(0);
  });
});
