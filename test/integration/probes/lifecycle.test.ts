// Short-lived containers must not be missed: 50 cgroups, each living ~100 ms running a
// CPU burn, are all announced by the lifecycle probe (mkdir and rmdir with their ids and
// paths) and all show CPU time in the next window, flagged dead with their final
// counters; the window after that no longer carries them (tombstones retired).
import { expect } from 'chai';

import { NativeProbes } from '../../../agent/native/index.js';
import { shortLivedCgroups } from './ground-truth.js';
import { useProbeFixture } from './workloads.js';

const count = 50;

describe('lifecycle probe (ground truth)', function () {
  const fixture = useProbeFixture();

  it('announces 50 cgroups living ~100 ms each and reports CPU time for every one', async function () {
    const f = fixture();
    await shortLivedCgroups(f, f.open({ probes: ['cpu'] }), count);
  });

  it('deletes a dead cgroup’s counters after reporting them once more', async function () {
    const f = fixture();
    const probes = NativeProbes.open({
      probes: ['cpu'],
      ioSlowNs: 0,
      reclaimSlowNs: 0,
      captureStacks: false,
      forceRawTracepoints: false,
      softwareCounters: false,
    });
    try {
      probes.attach();
      const cg = f.cgroup('dying');
      const id = cg.id('unified');
      expect(await cg.run('timeout', ['0.1', 'sh', '-c', 'while :; do :; done'])).to.equal(124);
      const before = (await probes.readWindow()).cpuCgroups.find((r) => r.cgroupId === id);
      expect(before?.flags, 'alive').to.equal(0);
      await cg.remove();
      const last = (await probes.readWindow()).cpuCgroups.find((r) => r.cgroupId === id);
      expect(last?.flags, 'reported dead').to.equal(1);
      expect(last?.oncpuNs).to.equal(before?.oncpuNs);
      expect(
        (await probes.readWindow()).cpuCgroups.find((r) => r.cgroupId === id),
        'retired',
      ).to.equal(undefined);
    } finally {
      probes.close();
    }
  });

  it('drains events while windows are being read on the worker thread', async function () {
    const f = fixture();
    const session = f.open({ probes: ['cpu'] });
    session.attach();
    const seen = new Set<bigint>();
    const ids: bigint[] = [];
    const reads: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      reads.push(session.read());
      const cg = f.cgroup(`churn-${i}`);
      ids.push(cg.id('unified'));
      await cg.remove();
      for (const e of session.drainEvents()) if (e.type === 'cgroup' && e.kind === 'rmdir') seen.add(e.cgroup.id);
    }
    await Promise.all(reads);
    for (const e of session.drainEvents()) if (e.type === 'cgroup' && e.kind === 'rmdir') seen.add(e.cgroup.id);
    expect(ids.filter((id) => !seen.has(id))).to.deep.equal([]);
  });
});
