// Ground truth for the io probe: O_DIRECT IO of a known size from a fresh cgroup is
// counted with exactly its bytes, on the disk holding the file, under the cgroup's blkcg
// id, with a latency record and a slow-IO record (threshold 0) per request carrying
// dd's comm and a kernel stack. Buffered writeback by a kworker is charged to the
// dirtying cgroup: by the bio's blkcg on a pure cgroup-v2 node (the VM lane), and on this
// hybrid host, whose v1 blkio controller has no writeback attribution, by the inode's
// dirtier the probe saw dirty the pages. A reader's time in flight beside a writer's
// requests is attributed to the writer. The first and third workloads are shared with the
// kernel-module backend's tests (io-ground-truth.ts).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import type { SlowIoEvent } from '../../../agent/probes/index.js';
import { delaysOf, directIoCounted, ioHierarchy, ms, readerBesideWriter, traffic } from './io-ground-truth.js';
import { diskOf, sleep, useProbeFixture } from './workloads.js';

const MiB = 1024 * 1024;
const rootCgroupId = 1n; // kernfs gives every hierarchy's root id 1

describe('io probe (ground truth)', function () {
  const fixture = useProbeFixture();

  it('counts O_DIRECT IO of a cgroup with its bytes, disk, owner, latency and slow records', async function () {
    const f = fixture();
    await directIoCounted(f, f.open({ probes: ['io'], ioSlowNs: 0, captureStacks: true }), { stacks: true });
  });

  it('charges kworker writeback to the cgroup that dirtied the pages, on cgroup v1 blkio and v2', async function () {
    const f = fixture();
    const dir = f.tempDir('crosstalk-io-');
    const dirtier = f.cgroup('dirtier');
    const session = f.open({ probes: ['io'], ioSlowNs: 0 });
    const { hierarchyId, idOf } = ioHierarchy(session);
    const dirtierId = idOf(dirtier);
    // v1 blkio itself cannot follow dirty pages (writeback bios carry the root blkcg,
    // machine.md): the probe does. The VM lane's pure-v2 guest runs this same test.
    const expectedOwner = dirtierId;
    session.setTargets([
      { hierarchyId, id: dirtierId },
      { hierarchyId, id: rootCgroupId },
    ]);
    session.attach();
    // A fresh file: ext4 flushes an overwritten (truncated) file from dd itself at close.
    expect(await dirtier.run('dd', ['if=/dev/zero', `of=${join(dir, 'buffered')}`, 'bs=1M', 'count=16'])).to.equal(0);
    expect(spawnSync('sync').status).to.equal(0);
    const { io } = await session.read();
    const disk = diskOf(dir);
    const byKworkers = session
      .drainEvents()
      .filter(
        (e): e is SlowIoEvent =>
          e.type === 'slow-io' && e.op === 'write' && e.comm.startsWith('kworker') && e.cgroup.id === expectedOwner,
      )
      .reduce((n, e) => n + e.bytes, 0);
    expect(byKworkers, 'bytes written back by kworkers for the expected owner').to.be.at.least(16 * MiB);
    expect(traffic(io!, expectedOwner, 'write', disk).bytes).to.be.at.least(16 * MiB);
    // The root keeps the journal and metadata, a few MiB at most.
    expect(traffic(io!, rootCgroupId, 'write', disk).bytes, 'left to the root').to.be.below(4 * MiB);
  });

  it('splits a reader’s time in flight among the owners whose requests were in flight beside it', async function () {
    const f = fixture();
    await readerBesideWriter(f, f.open({ probes: ['io'] }));
  });

  it('charges a reader’s time beside kworker writeback to the cgroup that dirtied the pages', async function () {
    const f = fixture();
    const dir = f.tempDir('crosstalk-io-');
    const reader = f.cgroup('reader');
    const dirtier = f.cgroup('dirtier');
    const file = join(dir, 'data');
    expect(await reader.run('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', 'count=32', 'oflag=direct'])).to.equal(0);
    const session = f.open({ probes: ['io'] });
    const { hierarchyId, idOf } = ioHierarchy(session);
    session.setTargets([{ hierarchyId, id: idOf(reader) }]);
    session.attach();
    // Buffered writes that sync pushes to the flusher kworkers; notrunc, or ext4 flushes
    // the file from dd itself at close (vm.md).
    const out = join(dir, 'dirty');
    const writing = f.track(
      dirtier.spawn('sh', [
        '-c',
        `while :; do dd if=/dev/zero of=${out} bs=1M count=64 conv=notrunc status=none; sync; done`,
      ]),
    );
    await sleep(500);
    await session.read(); // the window starts with writeback under way
    // The reads must meet the writeback: the loop also spends its time dirtying pages (all
    // of it, for seconds, under the VM lane's emulation), so read again until they did.
    const readAgain = async () => {
      expect(await reader.run('dd', [`if=${file}`, 'of=/dev/null', 'bs=4k', 'count=2000', 'iflag=direct'])).to.equal(0);
      return delaysOf(session, idOf(reader));
    };
    let beside = await readAgain();
    for (let tries = 1; tries < 10 && beside.delayedNs < 0.2 * beside.requestNs; tries++) beside = await readAgain();
    await f.stop(writing);
    const toDirtier = beside.byHolder.get(idOf(dirtier)) ?? 0;
    const toRoot = beside.byHolder.get(rootCgroupId) ?? 0;
    console.log(
      `      ${ms(beside.delayedNs)} of ${ms(beside.requestNs)} beside others: ${ms(toDirtier)} to the dirtier, ` +
        `${ms(toRoot)} to the root (journal), ${ms(beside.unattributedNs)} unattributed`,
    );
    expect(beside.delayedNs / beside.requestNs, 'share beside others').to.be.above(0.2);
    expect(toDirtier / beside.delayedNs, 'share of the delay charged to the dirtier').to.be.at.least(0.7);
  });

  it('counts slow-IO records lost to a full ring buffer as probe health', async function () {
    const f = fixture();
    const dir = f.tempDir('crosstalk-io-');
    const writer = f.cgroup('flood');
    const session = f.open({ probes: ['io'], ioSlowNs: 0 });
    const { hierarchyId, idOf } = ioHierarchy(session);
    session.setTargets([{ hierarchyId, id: idOf(writer) }]);
    session.attach();
    // 6000 small O_DIRECT writes, one record each, while nobody drains: more than the
    // 256 KiB ring holds.
    const file = join(dir, 'flood');
    expect(await writer.run('dd', ['if=/dev/zero', `of=${file}`, 'bs=4k', 'count=6000', 'oflag=direct'])).to.equal(0);
    const { io, health } = await session.read();
    const written = traffic(io!, idOf(writer), 'write', diskOf(dir));
    const dropped = health.find((h) => h.probe === 'io')?.eventsDropped ?? 0;
    const delivered = session.drainEvents().filter((e) => e.type === 'slow-io' && e.op === 'write').length;
    expect(dropped, 'records dropped').to.be.above(0);
    expect(delivered + dropped, 'delivered + dropped').to.equal(written.ops);
  });
});
