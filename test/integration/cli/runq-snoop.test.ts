// `crosstalk runq-snoop` as installed, against two CPU burners in two cgroups pinned to
// one CPU: each waits while the other runs, so every slow wait of the first must name
// the second as the one that held the CPU.
import { expect } from 'chai';

import { crosstalkBin, startCli } from '../../../testbed/components/cli-process.js';
import { useProbeFixture, sleep } from '../probes/workloads.js';
import { jsonLines, withoutKubeconfig } from './gated.js';

interface WaitLine {
  type: string;
  comm: string;
  tid: number;
  cpu: number;
  latencyMs: number;
  cgroup: string;
  prev: { comm: string; tid: number; cgroup: string | null };
  heldBy: { cgroup: string | null; ms: number; sharePercent: number }[];
}

/** The command itself on CPU 0, so that only the burners (and the kernel) share CPU 1. */
function runqSnoop(args: string[]) {
  return startCli(['-c', '0', crosstalkBin, 'runq-snoop', ...args], { command: 'taskset', env: withoutKubeconfig() });
}

describe('crosstalk runq-snoop', function () {
  this.timeout(240_000); // the VM lane emulates its CPU: each start of the command takes ~15 s there
  const fixture = useProbeFixture();

  it('names the other burner as the holder of the CPU while one waits', async function () {
    const f = fixture();
    const a = f.cgroup('a');
    const b = f.cgroup('b');
    // Pinned before tracing starts: their first moments (a shell, then taskset) run anywhere.
    const burnerA = f.burner(a, 1);
    f.burner(b, 1);
    const cli = runqSnoop(['-t', '1', '--cgroup', a.dir('unified'), '--json']);
    await cli.waitForStderr(/Hit Ctrl-C to end\./);
    await sleep(2000);
    const { code, stdout, stderr } = await cli.stop();
    expect(code, stderr).to.equal(0);

    const lines = jsonLines(stdout);
    const waits = lines.filter((l): l is WaitLine & Record<string, unknown> => l.type === 'cpu');
    expect(waits.length, 'slow waits of a').to.be.at.least(20);
    const byB = (w: WaitLine) => w.heldBy.find((h) => h.cgroup?.endsWith('/b'))?.ms ?? 0;
    let total = 0;
    let heldByB = 0;
    for (const w of waits) {
      expect(w).to.include({ cpu: 1 });
      expect(w.cgroup).to.match(/\/a$/);
      expect(w.latencyMs).to.be.at.least(1);
      total += w.latencyMs;
      heldByB += byB(w);
    }
    const pids = new Set(waits.map((w) => w.tid));
    expect(pids.has(burnerA.pid ?? -1), `waiting threads ${[...pids].join(', ')} include burner a`).to.equal(true);
    expect(heldByB / total, 'share of the waits held by b').to.be.at.least(0.9);
    const prevB = waits.filter((w) => w.prev.cgroup?.endsWith('/b')).length;
    expect(prevB / waits.length, 'waits that ended by switching b out').to.be.at.least(0.8);
    const summary = lines.at(-1) as { type: string; events: number; waitMs: number; heldBy: Record<string, number> };
    expect(summary).to.include({ type: 'summary', events: waits.length });
    const [top] = Object.entries(summary.heldBy).sort((x, y) => y[1] - x[1]);
    expect(top?.[0]).to.match(/\/b$/);
  });

  it('prints runqslower columns with the holders and their shares', async function () {
    const f = fixture();
    const a = f.cgroup('a');
    const b = f.cgroup('b');
    f.burner(a, 1);
    f.burner(b, 1);
    const cli = runqSnoop(['-t', '1', '--cgroup', a.dir('unified'), '3']);
    const { code, stdout, stderr } = await cli.result; // ends after its DURATION
    expect(code, stderr).to.equal(0);
    const [header = '', ...rows] = stdout.trimEnd().split('\n');
    expect(header).to.match(/^TIME +COMM +TID +CPU +LAT\(ms\) +PREV TASK +HELD BY \(share of the wait\)$/);
    expect(rows.length).to.be.above(5);
    let waited = 0;
    let heldByB = 0;
    for (const row of rows) {
      const match = /^\d\d:\d\d:\d\d +\S+ +\d+ +\d+ +([\d.]+) +\S+ +(.+%)$/.exec(row);
      expect(match, row).to.not.equal(null);
      const latency = Number(match?.[1]);
      waited += latency;
      heldByB += (latency * Number(/\S+\/b (\d+)%/.exec(match?.[2] ?? '')?.[1] ?? 0)) / 100;
    }
    expect(heldByB / waited, `share held by b:\n${rows.slice(0, 5).join('\n')}`).to.be.at.least(0.8);
    expect(stderr).to.match(/\d+ events; [\d.]+ (ms|s) waited, held by \S+\/b \d+%/);
  });
});
