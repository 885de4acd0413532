// Reclaim stalls of a cgroup at its own cgroup-v2 memory limit, memory.max (hard) and
// memory.high (throttle point; no v1 equivalent): the memory probe sees memcg reclaim
// stalls for the limited cgroup only, the kernel's memory.events counts the limit being
// hit, and the psi reader sees the stall in memory.pressure.
import { expect } from 'chai';
import { join } from 'node:path';

import { parseFlatKeyed } from '../../agent/cgroups/files.js';
import { readPsi } from '../../agent/psi.js';
import { missingPureCgroupV2 } from '../../testbed/host/requirements.js';
import { useProbeFixture } from '../integration/probes/workloads.js';

const MiB = 1024 * 1024;

describe('reclaim at cgroup v2 memory limits', function () {
  const fixture = useProbeFixture(missingPureCgroupV2);

  for (const limit of ['max', 'high'] as const) {
    it(`stalls a cgroup reading past its memory.${limit} in memcg reclaim; an unlimited twin never`, async function () {
      const f = fixture();
      const dir = f.tempDir('crosstalk-reclaim-');
      const limited = f.cgroup(`limited-${limit}`);
      const unlimited = f.cgroup(`unlimited-${limit}`);
      limited.limitMemory({ [limit]: 32 * MiB });
      // Written with O_DIRECT, so nothing is cached: reading charges fresh page cache.
      for (const name of ['a', 'b'])
        expect(
          await unlimited.run('dd', ['if=/dev/zero', `of=${join(dir, name)}`, 'bs=1M', 'count=128', 'oflag=direct']),
        ).to.equal(0);
      const session = f.open({ probes: ['memory'], reclaimSlowNs: 0 });
      session.setTargets([
        { hierarchyId: 0, id: limited.id() },
        { hierarchyId: 0, id: unlimited.id() },
      ]);
      session.attach();
      const eventsBefore = parseFlatKeyed(limited.read('memory.events'));
      const psiBefore = readPsi(limited.dir()).memory.someUs;

      expect(await limited.run('dd', [`if=${join(dir, 'a')}`, 'of=/dev/null', 'bs=1M'])).to.equal(0);
      expect(await unlimited.run('dd', [`if=${join(dir, 'b')}`, 'of=/dev/null', 'bs=1M'])).to.equal(0);

      const { memory } = await session.read();
      const hits = (parseFlatKeyed(limited.read('memory.events')).get(limit) ?? 0) - (eventsBefore.get(limit) ?? 0);
      const psiUs = Number(readPsi(limited.dir()).memory.someUs - psiBefore);
      const mine = memory!.stalls.find((s) => s.cgroupId === limited.id());
      console.log(
        `      memory.${limit}: memcg reclaim ${((mine?.memcg.stallNs ?? 0) / 1e6).toFixed(1)} ms in ` +
          `${mine?.memcg.count} stalls, ${mine?.memcg.pages} pages; memory.events ${limit} +${hits}; ` +
          `memory.pressure +${(psiUs / 1000).toFixed(1)} ms`,
      );
      expect(hits, `memory.events ${limit}`).to.be.above(0);
      expect(mine?.memcg.stallNs, 'memcg reclaim stall').to.be.above(0);
      // At least the 96 MiB beyond the limit was reclaimed (4 KiB pages).
      expect(mine?.memcg.pages, 'pages reclaimed').to.be.at.least((96 * MiB) / 4096);
      expect(mine?.direct.count, 'direct (machine-wide) reclaim').to.equal(0);
      expect(psiUs, 'memory.pressure some').to.be.above(0);
      expect(memory!.stalls.find((s) => s.cgroupId === unlimited.id())).to.equal(undefined);
    });
  }
});
