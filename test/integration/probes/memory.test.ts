// Ground truth for the memory probe: a cgroup under a 32 MiB memory limit that reads a
// 128 MiB file through the page cache must reclaim its own pages (memcg reclaim) and
// stalls doing so; the same read in a cgroup without a limit reclaims nothing.
import { expect } from 'chai';
import { join } from 'node:path';

import type { SlowReclaimEvent } from '../../../agent/probes/index.js';
import { useProbeFixture } from './workloads.js';

const MiB = 1024 * 1024;

describe('memory probe (ground truth)', function () {
  const fixture = useProbeFixture();

  it('sees reclaim stalls of a cgroup at its memory limit and none without a limit', async function () {
    const f = fixture();
    const dir = f.tempDir('crosstalk-memory-');
    const limited = f.cgroup('limited');
    const unlimited = f.cgroup('unlimited');
    limited.limitMemory({ max: 32 * MiB });
    // Written with O_DIRECT, so the pages are not cached yet: reading them charges
    // new page-cache pages to the reader's memory cgroup.
    for (const name of ['a', 'b'])
      expect(
        await unlimited.run('dd', ['if=/dev/zero', `of=${join(dir, name)}`, 'bs=1M', 'count=128', 'oflag=direct']),
      ).to.equal(0);
    const session = f.open({ probes: ['memory'], reclaimSlowNs: 0 });
    session.setTargets([
      { hierarchyId: 0, id: limited.id('unified') },
      { hierarchyId: 0, id: unlimited.id('unified') },
    ]);
    session.attach();
    expect(await limited.run('dd', [`if=${join(dir, 'a')}`, 'of=/dev/null', 'bs=1M'])).to.equal(0);
    expect(await unlimited.run('dd', [`if=${join(dir, 'b')}`, 'of=/dev/null', 'bs=1M'])).to.equal(0);
    const { memory } = await session.read();
    const stalls = (id: bigint) => memory!.stalls.find((s) => s.cgroupId === id);

    const mine = stalls(limited.id('unified'));
    expect(mine?.memcg.stallNs, 'memcg reclaim stall of the limited cgroup').to.be.above(0);
    // At least the 96 MiB beyond the limit had to be reclaimed (4 KiB pages).
    expect(mine?.memcg.pages, 'pages reclaimed').to.be.at.least((96 * MiB) / 4096);
    expect(stalls(unlimited.id('unified')), 'the unlimited cgroup').to.equal(undefined);

    const slow = session.drainEvents().filter((e): e is SlowReclaimEvent => e.type === 'slow-reclaim');
    expect(slow).to.have.length(mine?.memcg.count ?? -1);
    for (const e of slow)
      expect(e).to.deep.include({ comm: 'dd', kind: 'memcg', cgroup: { hierarchyId: 0, id: limited.id('unified') } });
  });
});
