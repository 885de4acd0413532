// The cache probe without a hardware PMU: detection (unsupported with the errno, the
// other probes unaffected), and the whole path (per-CPU perf events read at cgroup
// changes into per-cgroup sums) with software events standing in for the four
// counters: page faults (LLC references), major faults (LLC misses), cpu-clock ns
// (cycles) and context switches (instructions), each of which has a known truth.
import { expect } from 'chai';
import { once } from 'node:events';
import { existsSync } from 'node:fs';

import { useProbeFixture, sleep } from './workloads.js';

describe('cache probe', function () {
  const fixture = useProbeFixture();

  it('reports a missing hardware PMU as unsupported with its errno and keeps the cpu probe running', async function () {
    const f = fixture();
    const session = f.open({ probes: ['cpu', 'cache'] });
    session.attach();
    const cache = session.status().find((s) => s.probe === 'cache');
    // A PMU shows up as /sys/bus/event_source/devices/cpu (cpu_core/cpu_atom on hybrid Intel).
    const pmu = ['cpu', 'cpu_core', 'cpu_atom'].some((d) => existsSync(`/sys/bus/event_source/devices/${d}`));
    if (pmu) {
      expect(cache).to.include({ state: 'active' });
    } else {
      expect(cache).to.include({ state: 'unsupported', op: 'open' });
      expect(cache?.code).to.be.oneOf(['ENOENT', 'EOPNOTSUPP', 'ENODEV']);
      expect(cache?.reason).to.match(/LLC references.*PMU/);
    }
    expect(session.status().find((s) => s.probe === 'cpu')).to.include({ state: 'active' });
    const window = await session.read();
    expect(window.cpu).to.not.equal(undefined);
    expect(window.cache === undefined).to.equal(!pmu);
  });

  it('sums per-CPU counters per cgroup (software events standing in)', async function () {
    const f = fixture();
    const burn = f.cgroup('burn');
    const sleepy = f.cgroup('sleepy');
    const faulty = f.cgroup('faulty');
    const session = f.open({ probes: ['cpu', 'cache'], softwareCounters: true });
    session.attach();
    const burner = f.burner(burn, 1);
    await sleep(1000);
    await f.stop(burner);
    expect(
      await sleepy.run('taskset', ['-c', '1', 'perl', '-e', 'select(undef, undef, undef, 0.001) for 1..500']),
    ).to.equal(0);
    // The faulter's own count (getrusage via GNU time) is the truth: transparent huge
    // pages change how many faults 64 MiB take.
    const timed = f.track(
      faulty.spawn('/usr/bin/time', ['-f', '%R %F', 'perl', '-e', '$x = "a" x (64 * 1024 * 1024)'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
    );
    let rusage = '';
    timed.stderr?.on('data', (chunk: Buffer) => (rusage += chunk.toString()));
    expect((await once(timed, 'exit'))[0]).to.equal(0);
    const [minor = NaN, major = NaN] = rusage.trim().split(/\s+/).map(Number);
    await sleep(100); // let each CPU pass to another cgroup, which flushes the counters
    const { cpu, cache } = await session.read();
    const counters = (id: bigint) => cache!.counters.find((c) => c.cgroupId === id);
    const oncpu = (id: bigint) => cpu!.usage.find((u) => u.cgroupId === id)?.oncpuNs ?? 0;

    const burnt = counters(burn.id('unified'));
    expect(burnt?.cycles, 'cpu-clock ns of the burner vs its on-CPU time').to.be.closeTo(
      oncpu(burn.id('unified')),
      0.1 * oncpu(burn.id('unified')),
    );
    expect(burnt?.llcReferences, 'page faults of the burner').to.be.below(1000);
    // 500 sleeps: each wakeup switches the sleeper in once.
    expect(counters(sleepy.id('unified'))?.instructions, 'context switches of the sleeper').to.be.within(490, 600);
    // Plus the few hundred faults of time itself and of the shell that exec'd it.
    expect(minor + major, 'faults perl reported').to.be.above(500);
    expect(counters(faulty.id('unified'))?.llcReferences, 'page faults of the faulter').to.be.within(
      0.9 * (minor + major),
      minor + major + 2000,
    );
  });
});
