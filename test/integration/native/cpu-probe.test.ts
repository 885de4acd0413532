// The native path end to end: the cpu probe's BPF program, loaded and attached through
// the C library and the addon, counts context switches of a real workload in a fresh
// cgroup and none for an idle one.
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';

import { ProbeSession } from '../../../agent/native/index.js';
import { TestCgroup } from '../../support/cgroups.js';
import { missingBpf, requireOrSkip } from '../../support/requirements.js';

describe('native cpu probe', function () {
  let busy: TestCgroup | undefined;
  let idle: TestCgroup | undefined;
  let session: ProbeSession | undefined;

  before(function () {
    requireOrSkip(this, missingBpf());
    const run = `crosstalk-test-${process.pid}`;
    busy = TestCgroup.create(`${run}/busy`, ['unified']);
    idle = TestCgroup.create(`${run}/idle`, ['unified']);
  });

  after(async function () {
    session?.close();
    await busy?.remove();
    await idle?.remove();
    if (busy) await TestCgroup.create(`crosstalk-test-${process.pid}`, ['unified']).remove();
  });

  it('counts switches of the busy cgroup and none of the idle one', async function () {
    session = ProbeSession.open({ probes: ['cpu'] });
    session.attach();
    // 200 short sleeps: each one switches the workload out and back in.
    const code = await busy!.run('sh', ['-c', 'i=0; while [ $i -lt 200 ]; do sleep 0.001; i=$((i+1)); done']);
    expect(code).to.equal(0);
    await sleep(50);
    const window = await session.read();
    const count = (id: bigint) => window.cpu.find((c) => c.cgroupId === id)?.switchesIn ?? 0n;
    expect(Number(count(busy!.id()))).to.be.at.least(200);
    expect(count(idle!.id())).to.equal(0n);
  });
});
