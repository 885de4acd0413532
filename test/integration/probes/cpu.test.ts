// Ground truth for the cpu probe: two CPU burners in two cgroups pinned to one CPU
// share it half and half, so each waits about half of the window, and the other holds
// the CPU for (almost) all of that wait. A cgroup with nothing to run waits 0; a burner
// alone on its CPU waits ~0. Then the same workload is measured by bpftrace with a
// runqlat.bt-style script, a peer written independently of these probes.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';

import type { CpuWindow, ProbeSession, ProbeWindow } from '../../../agent/probes/index.js';
import type { TestCgroup } from '../../../testbed/host/cgroups.js';
import { requireOrSkip } from '../../../testbed/host/requirements.js';
import { missingTool, missingTracefs, type ProbeFixture, sleep, useProbeFixture } from './workloads.js';

const unified = (cg: TestCgroup) => ({ hierarchyId: 0, id: cg.id('unified') });

function waitOf(cpu: CpuWindow, cg: TestCgroup): number {
  return cpu.victims.find((v) => v.cgroupId === cg.id('unified'))?.waitNs ?? 0;
}

function oncpuOf(cpu: CpuWindow, cg: TestCgroup): number {
  return cpu.usage.find((u) => u.cgroupId === cg.id('unified'))?.oncpuNs ?? 0;
}

function attributed(cpu: CpuWindow, victim: TestCgroup, aggressor: TestCgroup): number {
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
async function measure(session: ProbeSession, ms: number): Promise<ProbeWindow> {
  await session.read();
  await sleep(ms);
  return session.read();
}

async function twoBurnersOnOneCpu(f: ProbeFixture, session: ProbeSession): Promise<void> {
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

describe('cpu probe (ground truth)', function () {
  const fixture = useProbeFixture();

  it('splits two pinned burners half and half and attributes each wait to the other', async function () {
    const f = fixture();
    const session = f.open({ probes: ['cpu'] });
    expect(session.status().find((s) => s.probe === 'cpu')).to.include({ state: 'loaded', attachMode: 'tp_btf' });
    await twoBurnersOnOneCpu(f, session);
  });

  it('gives the same answer with the raw_tp fallback programs', async function () {
    const f = fixture();
    const session = f.open({ probes: ['cpu'], forceRawTracepoints: true });
    expect(session.status().find((s) => s.probe === 'cpu')).to.include({ state: 'loaded', attachMode: 'raw_tp' });
    await twoBurnersOnOneCpu(f, session);
  });

  it('sees almost no wait for a burner alone on its CPU, and its CPU time in every window', async function () {
    const f = fixture();
    const alone = f.cgroup('alone');
    const session = f.open({ probes: ['cpu'] });
    session.setTargets([unified(alone)]);
    session.attach();
    f.burner(alone, 1);
    await sleep(300);
    // Windows shorter than the burner's slices (it runs unpreempted for up to seconds
    // under the VM lane's emulation): each must still hold the time it ran, because a
    // read credits the running segment up to the window's end. kworkers and interrupts
    // still take the CPU now and then, longer under emulation.
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
      expect(w.oncpuNs / w.durationNs, `on-CPU share per window (${shares('oncpuNs')})`).to.be.within(0.5, 1.001);
    }
    expect(total('oncpuNs') / total('durationNs'), 'on-CPU share over the windows').to.be.above(0.85);
    expect(total('waitNs') / total('durationNs'), 'wait share over the windows').to.be.below(0.05);
  });

  it('measures waits of victims only, and follows a change of the victim set', async function () {
    const f = fixture();
    const a = f.cgroup('a');
    const b = f.cgroup('b');
    const session = f.open({ probes: ['cpu'] });
    session.setTargets([unified(a)]);
    session.attach();
    f.burner(a, 1);
    f.burner(b, 1);
    await sleep(300);
    let { cpu } = await measure(session, 1000);
    expect(waitOf(cpu!, a), 'victim a').to.be.above(0);
    expect(waitOf(cpu!, b), 'b before it is a victim').to.equal(0);
    // b is no victim but still visible as the aggressor, with its CPU time.
    expect(attributed(cpu!, a, b)).to.be.above(0);
    expect(oncpuOf(cpu!, b)).to.be.above(0);
    session.setTargets([unified(b)]);
    ({ cpu } = await measure(session, 1000));
    expect(waitOf(cpu!, b), 'victim b').to.be.above(0);
    expect(waitOf(cpu!, a), 'a once it is no victim').to.equal(0);
  });

  // The peer: runqlat.bt's logic (stamp at wakeup and at a switch that leaves prev
  // TASK_RUNNING, measure at switch-in) on classic tracepoints, keyed by pid and limited
  // to the workload's pids (two pinned burners and a sleeper waking every 2 ms on the
  // same CPU). bpftrace prints every wait with its switch-in time (bpf_ktime_get_ns,
  // CLOCK_MONOTONIC like the window bounds), so both are compared over exactly our
  // window: the number of waits and the total wait must agree within 3 % (measured:
  // within 1 %; the rest is slack for the few ms between a map read and its timestamp).
  it('agrees with a runqlat.bt-style bpftrace measurement of the same workload', async function () {
    requireOrSkip(this, missingTool('bpftrace') ?? missingTracefs());
    const f = fixture();
    const a = f.cgroup('a');
    const b = f.cgroup('b');
    const sleeper = f.cgroup('sleeper');
    const session = f.open({ probes: ['cpu'] });
    session.setTargets([unified(a), unified(b), unified(sleeper)]);
    session.attach();
    const pids = [
      f.burner(a, 1).pid,
      f.burner(b, 1).pid,
      f.track(sleeper.spawn('taskset', ['-c', '1', 'perl', '-e', 'select(undef, undef, undef, 0.002) while 1'])).pid,
    ];
    const script = `
      BEGIN { ${pids.map((p) => `@target[${p}] = 1;`).join(' ')} printf("ready\\n"); }
      tracepoint:sched:sched_wakeup, tracepoint:sched:sched_wakeup_new /@target[args->pid]/ { @queued[args->pid] = nsecs; }
      tracepoint:sched:sched_switch {
        if (args->prev_state == 0 && @target[args->prev_pid]) { @queued[args->prev_pid] = nsecs; }
        $t = @queued[args->next_pid];
        if ($t) { printf("wait %llu %llu\\n", nsecs, nsecs - $t); }
        delete(@queued[args->next_pid]);
      }
      END { clear(@queued); clear(@target); }`;
    const bpftrace = f.track(spawn('bpftrace', ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    bpftrace.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    while (!out.includes('ready')) await sleep(20);
    await sleep(300);
    const { cpu, startNs, endNs, durationNs } = await measure(session, 3000);
    await sleep(100);
    const exited = once(bpftrace, 'exit');
    bpftrace.kill('SIGINT');
    await exited;
    const peer = { total: 0, count: 0 };
    for (const [, at, wait] of out.matchAll(/^wait (\d+) (\d+)$/gm)) {
      const t = BigInt(at ?? '0');
      if (t <= startNs || t > endNs) continue;
      peer.total += Number(wait);
      peer.count++;
    }
    const ours = cpu!.victims.reduce((t, v) => ({ total: t.total + v.waitNs, count: t.count + v.waits }), {
      total: 0,
      count: 0,
    });
    console.log(
      `      in ${(durationNs / 1e6).toFixed(0)} ms: crosstalk ${ours.count} waits, ${(ours.total / 1e6).toFixed(1)} ms;` +
        ` bpftrace ${peer.count} waits, ${(peer.total / 1e6).toFixed(1)} ms`,
    );
    expect(peer.count, 'bpftrace saw the workload').to.be.above(1000);
    expect(ours.count, 'number of waits').to.be.closeTo(peer.count, 0.03 * peer.count);
    expect(ours.total, 'total wait').to.be.closeTo(peer.total, 0.03 * peer.total);
  });
});
