// `crosstalk llc-stat` as installed. Without a hardware PMU (this machine kind) it says so
// in one line and exits with status 3. Its per-process, per-CPU and per-cgroup counting
// runs here with software events standing in for the counters (page faults for LLC
// references, major faults for misses: a hidden test flag), against a process of known
// pid pinned to CPU 1 that faults in 64 MiB.
import { expect } from 'chai';
import { existsSync } from 'node:fs';

import { runCli, startCli } from '../../../testbed/components/cli-process.js';
import { useProbeFixture } from '../probes/workloads.js';
import { gated, jsonLines } from './gated.js';

const hasPmu = () => ['cpu', 'cpu_core', 'cpu_atom'].some((d) => existsSync(`/sys/bus/event_source/devices/${d}`));

interface Row {
  key: string;
  name?: string;
  cpu?: number;
  references: number;
  misses: number;
  hitPercent?: number;
}

describe('crosstalk llc-stat', function () {
  this.timeout(240_000); // the VM lane emulates its CPU: each start of the command takes ~15 s there
  const fixture = useProbeFixture();

  it('says in one line that there is no hardware PMU and exits with status 3', async function () {
    const { code, stdout, stderr } = await runCli(['llc-stat', '1']);
    if (hasPmu()) {
      expect(code, stderr).to.equal(0);
      expect(stdout).to.match(/^PID +NAME +CPU +REFERENCE +MISS +HIT%/);
      return;
    }
    expect(code).to.equal(3);
    expect(stdout).to.equal('');
    expect(stderr.trimEnd().split('\n')).to.have.length(1);
    expect(stderr).to.match(/^crosstalk: no hardware PMU: .*\(perf_event_open: (ENOENT|EOPNOTSUPP|ENODEV);/);
  });

  it('counts per process and CPU, and per cgroup (software counters)', async function () {
    const f = fixture();
    const faulty = f.cgroup('faulty');
    const perl = gated(faulty, 'taskset', ['-c', '1', 'perl', '-e', '$x = "a" x (64 * 1024 * 1024); sleep 1']);
    f.track(perl.child);
    // Two runs at once at most: the VM lane's guest has 1 GiB for them (filters: unit tests).
    const common = ['llc-stat', '--software-counters', '--json', '-c', '1'];
    const runs = [startCli(common), startCli([...common, '--by', 'cgroup'])];
    await Promise.all(runs.map((r) => r.waitForStderr(/Hit Ctrl-C to end\./)));
    expect(await perl.go()).to.equal(0);
    const results = await Promise.all(runs.map((r) => r.stop()));
    for (const r of results) expect(r.code, r.stderr).to.equal(0);
    const [byPid, byCgroup] = results.map((r) => jsonLines(r.stdout) as unknown as Row[]);

    // Before it exec'd perl, the process ran sh and taskset, on any CPU: rows of their own.
    const mine = byPid!.filter((r) => r.key === String(perl.pid) && r.name === 'perl');
    expect(mine.map((r) => r.cpu)).to.deep.equal([1]); // pinned: one row, CPU 1
    const perlRow = mine[0]!;
    expect(perlRow.references, 'page faults of 64 MiB').to.be.above(100);
    // Major faults (loading perl itself: many in the VM lane, whose root is a 9p share).
    expect(perlRow.misses).to.be.within(0, perlRow.references);
    expect(perlRow.hitPercent).to.be.closeTo((100 * (perlRow.references - perlRow.misses)) / perlRow.references, 1e-9);
    const cgroup = byCgroup!.find((r) => r.key.endsWith('/faulty'));
    expect(cgroup?.references, 'the cgroup counts its process').to.be.at.least(perlRow.references);
    expect(byPid!.every((r) => r.references >= 1)).to.equal(true);
  });

  it('prints llcstat columns and the totals', async function () {
    const f = fixture();
    const busy = f.cgroup('busy');
    const perl = gated(busy, 'taskset', ['-c', '1', 'perl', '-e', '$x = "a" x (16 * 1024 * 1024)']);
    f.track(perl.child);
    const run = startCli(['llc-stat', '--software-counters', '-c', '1']);
    await run.waitForStderr(/Hit Ctrl-C to end\./);
    expect(await perl.go()).to.equal(0);
    const { code, stdout, stderr } = await run.stop('SIGTERM');
    expect(code, stderr).to.equal(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).to.match(/^PID +NAME +CPU +REFERENCE +MISS +HIT% +CPI$/);
    expect(lines.some((l) => new RegExp(`^${perl.pid} +perl +1 +\\d+ +\\d+ +[\\d.]+% +[\\d.]+$`).test(l))).to.equal(
      true,
    );
    expect(lines.at(-1)).to.match(/^Total References: \d+ Total Misses: \d+ Hit Rate: [\d.]+%$/);
  });
});
