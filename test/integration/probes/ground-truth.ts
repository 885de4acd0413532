// Ground-truth workloads for the cpu and lifecycle probes, shared by both backends' tests
// (test/integration/probes on eBPF, test/v2/kmod.test.ts on the kernel module): each takes
// a session opened by the caller and asserts what the workload makes true.
import { expect } from 'chai';

import type { CgroupEvent, CpuWindow, ProbeSession, ProbeWindow } from '../../../agent/probes/index.js';
import type { TestCgroup } from '../../../testbed/host/cgroups.js';
import { type ProbeFixture, sleep } from './workloads.js';

export const unified = (cg: TestCgroup) => ({ hierarchyId: 0, id: cg.id('unified') });

export function waitOf(cpu: CpuWindow, cg: TestCgroup): number {
  return cpu.victims.find((v) => v.cgroupId === cg.id('unified'))?.waitNs ?? 0;
}

export function oncpuOf(cpu: CpuWindow, cg: TestCgroup): number {
  return cpu.usage.find((u) => u.cgroupId === cg.id('unified'))?.oncpuNs ?? 0;
}

export function attributed(cpu: CpuWindow, victim: TestCgroup, aggressor: TestCgroup): number {
  return cpu.attribution
    .filter(
      (s) =>
        s.victim === victim.id('unified') &&
        s.aggressor.kind === 'cgroup' &&
        s.aggressor.id === aggressor.id('unified'),
    )
    .reduce((sum, s) => sum + s.waitNs, 0);
}

/** Reads a window of `ms` after discarding what came before. */
export async function measure(session: ProbeSession, ms: number): Promise<ProbeWindow> {
  await session.read();
  await sleep(ms);
  return session.read();
}

/** Two burners pinned to one CPU share it half and half: each waits about half of the
 * window, and the other holds the CPU for (almost) all of that wait. A cgroup with
 * nothing to run waits 0. */
export async function twoBurnersOnOneCpu(f: ProbeFixture, session: ProbeSession): Promise<void> {
  const a = f.cgroup('a');
  const b = f.cgroup('b');
  const idle = f.cgroup('idle');
  session.setTargets([unified(a), unified(b), unified(idle)]);
  session.attach();
  f.burner(a, 1);
  f.burner(b, 1);
  // Both running, and the kernel done with what earlier tests left (freeing their
  // maps runs in kworkers, on this CPU too: slow under the VM lane's emulation).
  await sleep(1000);
  const { cpu, durationNs } = await measure(session, 2000);
  expect(cpu, 'cpu window').to.not.equal(undefined);
  if (!cpu) return;
  for (const [victim, other] of [
    [a, b],
    [b, a],
  ] as const) {
    const wait = waitOf(cpu, victim);
    const split = cpu.attribution
      .filter((s) => s.victim === victim.id('unified'))
      .map(
        (s) =>
          `${JSON.stringify(s.aggressor, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}: ${(s.waitNs / 1e6).toFixed(1)} ms`,
      )
      .join(', ');
    expect(wait / durationNs, 'share of the window spent waiting').to.be.within(0.4, 0.6);
    expect(
      attributed(cpu, victim, other) / wait,
      `share of the wait attributed to the other (${split})`,
    ).to.be.at.least(0.9);
  }
  expect(waitOf(cpu, idle), 'idle cgroup wait').to.equal(0);
  expect(oncpuOf(cpu, a) / durationNs, 'on-CPU share of a').to.be.within(0.4, 0.6);
  expect(oncpuOf(cpu, b) / durationNs, 'on-CPU share of b').to.be.within(0.4, 0.6);
}

/** A burner alone on its CPU waits ~0 and shows its CPU time in every window. */
export async function burnerAloneOnItsCpu(f: ProbeFixture, session: ProbeSession): Promise<void> {
  const alone = f.cgroup('alone');
  session.setTargets([unified(alone)]);
  session.attach();
  f.burner(alone, 1);
  await sleep(300);
  // Windows shorter than the burner's slices (it runs unpreempted for up to seconds
  // under the VM lane's emulation): each must still hold the time it ran, because a
  // read credits the running segment up to the window's end (without it a window shows
  // ~0). kworkers and interrupts still take the CPU now and then, longer under emulation:
  // up to 53% of one window in the VM lane. Above 1 by at most 0.5% there (the module's
  // clock against the window's under an unstable guest TSC); a segment credited twice
  // would show far more.
  await session.read();
  const windows: { oncpuNs: number; waitNs: number; durationNs: number }[] = [];
  for (let i = 0; i < 8; i++) {
    await sleep(250);
    const { cpu, durationNs } = await session.read();
    windows.push({ oncpuNs: oncpuOf(cpu!, alone), waitNs: waitOf(cpu!, alone), durationNs });
  }
  const shares = (of: 'oncpuNs' | 'waitNs') => windows.map((w) => (w[of] / w.durationNs).toFixed(2)).join(' ');
  const total = (of: 'oncpuNs' | 'waitNs' | 'durationNs') => windows.reduce((sum, w) => sum + w[of], 0);
  console.log(`      on-CPU share per 250 ms window: ${shares('oncpuNs')}; wait: ${shares('waitNs')}`);
  for (const w of windows) {
    expect(w.oncpuNs / w.durationNs, `on-CPU share per window (${shares('oncpuNs')})`).to.be.within(0.3, 1.02);
  }
  expect(total('oncpuNs') / total('durationNs'), 'on-CPU share over the windows').to.be.above(0.85);
  // Host: under 1%; one VM-lane run: 12%, the guest's kworkers still tearing down the
  // previous test's cgroups and maps on that CPU.
  expect(total('waitNs') / total('durationNs'), 'wait share over the windows').to.be.below(0.15);
}

/** Short-lived containers must not be missed: `count` cgroups, each living ~100 ms
 * running a CPU burn, are all announced (mkdir and rmdir with their ids and paths) and
 * all show CPU time in the next window, flagged dead with their final counters. */
export async function shortLivedCgroups(f: ProbeFixture, session: ProbeSession, count: number): Promise<void> {
  expect(session.status().map((s) => s.probe)).to.deep.equal(['cpu', 'lifecycle']);
  session.attach();
  const ids = new Map<bigint, string>();
  for (let i = 0; i < count; i++) {
    const cg = f.cgroup(`short-${i}`);
    ids.set(cg.id('unified'), `short-${i}`);
    expect(await cg.run('timeout', ['0.1', 'sh', '-c', 'while :; do :; done'])).to.equal(124);
    await cg.remove();
  }
  const events = session
    .drainEvents()
    .filter((e): e is CgroupEvent => e.type === 'cgroup' && e.cgroup.hierarchyId === 0);
  for (const kind of ['mkdir', 'rmdir'] as const) {
    const seen = events.filter((e) => e.kind === kind && ids.has(e.cgroup.id));
    expect(seen, `${kind} events`).to.have.length(count);
    for (const e of seen) expect(e.path.endsWith(`/${ids.get(e.cgroup.id)}`), e.path).to.equal(true);
  }

  const { cpu } = await session.read();
  const usage = cpu!.usage.filter((u) => ids.has(u.cgroupId));
  expect(usage, 'cgroups with CPU time').to.have.length(count);
  for (const u of usage) {
    expect(u.oncpuNs, ids.get(u.cgroupId)).to.be.above(0);
    expect(u.dead, ids.get(u.cgroupId)).to.equal(true);
  }
}
