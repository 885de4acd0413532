// Per-cgroup pressure stall information on a pure cgroup-v2 node, read by agent/psi.ts:
// each resource's pressure rises in the cgroup that is starved of it and stays at zero
// in an idle neighbour. Shares and totals, never absolute latencies (the lane runs under
// software emulation, 8-18x slower than the host).
import { expect } from 'chai';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { psiDelta, readPsi, type PsiSnapshot, type PsiWindow } from '../../agent/psi.js';
import { blockDeviceOf } from '../../testbed/host/block-device.js';
import { TestCgroup } from '../../testbed/host/cgroups.js';
import { missingPureCgroupV2, requireOrSkip } from '../../testbed/host/requirements.js';

const MiB = 1024 * 1024;
const burn = ['-c', 'while :; do :; done'];

/** Snapshots of several cgroups taken together, and their deltas over the elapsed time. */
class PsiWatch {
  private readonly before: PsiSnapshot[];
  private readonly started = process.hrtime.bigint();

  constructor(private readonly cgroups: readonly TestCgroup[]) {
    this.before = cgroups.map((cg) => readPsi(cg.dir()));
  }

  windows(): PsiWindow[] {
    const windowUs = Number((process.hrtime.bigint() - this.started) / 1000n);
    return this.cgroups.map((cg, i) => psiDelta(this.before[i]!, readPsi(cg.dir()), windowUs));
  }
}

describe('per-cgroup pressure on pure cgroup v2', function () {
  const run = `crosstalk-v2-psi-${process.pid}`;
  const scratch = join(tmpdir(), run);

  before(function () {
    requireOrSkip(this, missingPureCgroupV2());
  });

  beforeEach(function () {
    mkdirSync(scratch, { recursive: true });
  });

  afterEach(async function () {
    rmSync(scratch, { recursive: true, force: true });
    await TestCgroup.create(run).remove();
  });

  it('cpu: two burners sharing one CPU each stall about half the time; an idle neighbour never', async function () {
    const [a, b, idle] = ['cpu-a', 'cpu-b', 'cpu-idle'].map((name) => TestCgroup.create(`${run}/${name}`)) as [
      TestCgroup,
      TestCgroup,
      TestCgroup,
    ];
    for (const cg of [a, b]) cg.write('cpuset.cpus', '0');
    a.spawn('sh', burn);
    b.spawn('sh', burn);
    idle.spawn('sleep', ['600']);
    await sleep(1000); // past the shells' start-up
    const watch = new PsiWatch([a, b, idle]);
    await sleep(5000);
    const [wa, wb, wi] = watch.windows() as [PsiWindow, PsiWindow, PsiWindow];
    console.log(
      `      cpu some: a ${wa.cpu.somePercent.toFixed(1)}%, b ${wb.cpu.somePercent.toFixed(1)}%, idle ${wi.cpu.somePercent.toFixed(1)}%`,
    );
    expect(wa.cpu.somePercent).to.be.within(35, 65);
    expect(wb.cpu.somePercent).to.be.within(35, 65);
    expect(wi.cpu.someUs).to.equal(0n);
  });

  it('io: a cgroup throttled by io.max stalls on IO for most of its write; an idle neighbour never', async function () {
    const slow = TestCgroup.create(`${run}/io-slow`);
    const idle = TestCgroup.create(`${run}/io-idle`);
    const device = blockDeviceOf(scratch);
    const rate = 2 * MiB;
    slow.write('io.max', `${device} wbps=${rate}`);
    idle.spawn('sleep', ['600']);
    const watch = new PsiWatch([slow, idle]);
    // 8 MiB at 2 MiB/s: about 4 s of throttled, direct (uncached) writes.
    const started = Date.now();
    const code = await slow.run('dd', [
      'if=/dev/zero',
      `of=${join(scratch, 'direct')}`,
      'bs=256k',
      'count=32',
      'oflag=direct',
    ]);
    const writeMs = Date.now() - started;
    expect(code).to.equal(0);
    const [ws, wi] = watch.windows() as [PsiWindow, PsiWindow];
    const written = Number(/wbytes=(\d+)/.exec(slow.read('io.stat'))?.[1]);
    const stallMs = Number(ws.io.someUs) / 1000;
    console.log(
      `      io some: throttled ${stallMs} ms of its ${writeMs} ms write (${written} bytes), idle ${wi.io.someUs} us`,
    );
    expect(written).to.be.at.least(8 * MiB);
    // blk-throttle lets the first slice's budget through at once; the rest waits.
    expect(writeMs).to.be.at.least(0.5 * ((8 * MiB) / rate) * 1000);
    expect(stallMs).to.be.at.least(0.5 * writeMs);
    expect(wi.io.someUs).to.equal(0n);
  });

  it('memory: a cgroup writing past its memory.high stalls in reclaim; an unlimited twin does not', async function () {
    const limited = TestCgroup.create(`${run}/mem-limited`);
    const free = TestCgroup.create(`${run}/mem-free`);
    limited.limitMemory({ high: 16 * MiB });
    const watch = new PsiWatch([limited, free]);
    // 96 MiB of page cache each: six times the limited cgroup's memory.high.
    for (const [cg, name] of [
      [limited, 'limited'],
      [free, 'free'],
    ] as const) {
      expect(await cg.run('dd', ['if=/dev/zero', `of=${join(scratch, name)}`, 'bs=1M', 'count=96'])).to.equal(0);
    }
    const [wl, wf] = watch.windows() as [PsiWindow, PsiWindow];
    console.log(
      `      memory some: limited ${Number(wl.memory.someUs) / 1000} ms, unlimited ${Number(wf.memory.someUs) / 1000} ms`,
    );
    expect(Number(wl.memory.someUs)).to.be.above(10_000);
    expect(Number(wf.memory.someUs)).to.be.below(Number(wl.memory.someUs) / 10);
  });
});
