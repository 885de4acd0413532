// Ground truth for the memory probe at a cgroup's own cgroup-v2 memory limit (the VM
// lane), shared by both backends' tests (reclaim.test.ts on eBPF, kmod.test.ts on the
// module): a cgroup reading past its memory.max or memory.high stalls in memcg reclaim,
// seen by the probe for the limited cgroup only, while the kernel's memory.events counts
// the limit being hit and memory.pressure shows the stall; an unlimited twin never does.
import { expect } from 'chai';
import { join } from 'node:path';

import { parseFlatKeyed } from '../../agent/cgroups/files.js';
import type { ProbeBackend } from '../../agent/native/index.js';
import { readPsi } from '../../agent/psi.js';
import type { ProbeFixture } from '../integration/probes/workloads.js';

const MiB = 1024 * 1024;

export async function reclaimAtOwnLimit(f: ProbeFixture, limit: 'max' | 'high', backend: ProbeBackend): Promise<void> {
  const dir = f.tempDir('crosstalk-reclaim-');
  const limited = f.cgroup(`limited-${limit}`);
  const unlimited = f.cgroup(`unlimited-${limit}`);
  limited.limitMemory({ [limit]: 32 * MiB });
  // Written with O_DIRECT, so nothing is cached: reading charges fresh page cache.
  for (const name of ['a', 'b'])
    expect(
      await unlimited.run('dd', ['if=/dev/zero', `of=${join(dir, name)}`, 'bs=1M', 'count=128', 'oflag=direct']),
    ).to.equal(0);
  const session = f.open({ probes: ['memory'], reclaimSlowNs: 0, backend });
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
}
