// A cgroup slowed by its own CPU quota (cpu.max) is not a victim of its neighbours. On
// Debian's 6.1 a throttled task stays runnable until its quota refills: cpu.stat's
// throttled_usec and cpu.pressure show that time, and the cpu probe must not take it
// for a run-queue wait (it does not stamp a task its own quota throttled), so none of
// it can be blamed on another cgroup.
import { expect } from 'chai';

import type { CpuWindow } from '../../agent/probes/index.js';
import { readPsi } from '../../agent/psi.js';
import { parseFlatKeyed } from '../../agent/cgroups/files.js';
import { missingPureCgroupV2 } from '../../testbed/host/requirements.js';
import { useProbeFixture, sleep } from '../integration/probes/workloads.js';

describe('cpu.max throttling on pure cgroup v2', function () {
  const fixture = useProbeFixture(missingPureCgroupV2);

  it('does not take a lone 20ms/100ms burner’s throttling for run-queue wait', async function () {
    const f = fixture();
    const throttled = f.cgroup('throttled');
    throttled.write('cpu.max', '20000 100000');
    const id = throttled.id();
    const session = f.open({ probes: ['cpu'] });
    session.setTargets([{ hierarchyId: 0, id }]);
    session.attach();
    f.burner(throttled, 1);
    await sleep(500);

    await session.read(); // starts the window
    const statBefore = parseFlatKeyed(throttled.read('cpu.stat'));
    const psiBefore = readPsi(throttled.dir()).cpu.someUs;
    await sleep(5000);
    const { cpu, durationNs } = await session.read();
    const statAfter = parseFlatKeyed(throttled.read('cpu.stat'));
    const psiNs = Number(readPsi(throttled.dir()).cpu.someUs - psiBefore) * 1000;

    const throttledNs = ((statAfter.get('throttled_usec') ?? 0) - (statBefore.get('throttled_usec') ?? 0)) * 1000;
    const periods = (statAfter.get('nr_throttled') ?? 0) - (statBefore.get('nr_throttled') ?? 0);
    const waitNs = victimWait(cpu!, id);
    const shares = cpu!.attribution.filter((s) => s.victim === id);
    const toNeighbours = shares
      .filter((s) => s.aggressor.kind !== 'idle' && !(s.aggressor.kind === 'cgroup' && s.aggressor.id === id))
      .reduce((n, s) => n + s.waitNs, 0);
    const ms = (ns: number) => `${(ns / 1e6).toFixed(0)} ms`;
    console.log(
      `      in ${ms(durationNs)}: throttled ${ms(throttledNs)} over ${periods} periods, probe wait ${ms(waitNs)}, ` +
        `cpu.pressure ${ms(psiNs)}, attributed to neighbours ${ms(toNeighbours)}`,
    );

    // 20 ms of each 100 ms period may run: the rest of the window is throttled.
    expect(throttledNs / durationNs, 'throttled share of the window').to.be.within(0.65, 0.9);
    expect(periods, 'periods throttled').to.be.at.least(40);
    expect(psiNs, 'cpu.pressure vs throttled_usec').to.be.closeTo(throttledNs, 0.15 * throttledNs);
    expect(waitNs / throttledNs, 'probe wait as a share of throttled_usec').to.be.below(0.05);
    expect(toNeighbours / throttledNs, 'blamed on neighbours, as a share of throttled_usec').to.be.below(0.02);
  });
});

function victimWait(cpu: CpuWindow, id: bigint): number {
  return cpu.victims.find((v) => v.cgroupId === id)?.waitNs ?? 0;
}
