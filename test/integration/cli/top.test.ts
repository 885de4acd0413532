// `crosstalk top` as installed: in a real terminal (tmux: the frame is redrawn in place,
// Ctrl-C ends it with a summary) and piped (plain blocks, no escape codes), against two
// CPU burners in two cgroups pinned to one CPU, each the other's aggressor.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';

import { crosstalkBin, startCli } from '../../../testbed/components/cli-process.js';
import { eventually } from '../../../testbed/cluster/eventually.js';
import { requireOrSkip } from '../../../testbed/host/requirements.js';
import { missingTool, useProbeFixture, sleep } from '../probes/workloads.js';
import { jsonLines, withoutKubeconfig } from './gated.js';

interface Row {
  name: string;
  verdict: string;
  wait: number;
  cpu: number;
  topAggressor: { who: string; resource: string; share: number } | null;
}

// Bounded: a tmux call that hangs would block the event loop, and with it mocha's timeout.
const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8', timeout: 30_000 });

describe('crosstalk top', function () {
  this.timeout(240_000); // the VM lane emulates its CPU: each start of the command takes ~15 s there
  const fixture = useProbeFixture();

  it('redraws one frame in place in a terminal, names each burner as the other one’s aggressor, ends on Ctrl-C', async function () {
    requireOrSkip(this, missingTool('tmux'));

    const f = fixture();
    const a = f.cgroup('a');
    const b = f.cgroup('b');
    f.burner(a, 1);
    f.burner(b, 1);
    const name = `crosstalk-top-${process.pid}`;
    const env = Object.entries(withoutKubeconfig())
      .filter(([k]) => k === 'KUBECONFIG' || k === 'HOME')
      .map(([k, v]) => `${k}=${v}`);
    tmux('new-session', '-d', '-s', name, '-x', '200', '-y', '50', 'env', ...env, 'bash', '-c',
      `${crosstalkBin} top --interval 1; echo "exit status $?"; sleep 600`); // prettier-ignore
    try {
      const pane = () => tmux('capture-pane', '-p', '-t', name);
      const first = await eventually(() => {
        const text = pane();
        expect(text).to.match(/crosstalk top - .*window [3-9]/);
        return text;
      }, 120_000);
      const row = (text: string, cg: string) =>
        text.split('\n').find((l) => new RegExp(`^\\S+/${cg} +(Low|Medium|High) `).test(l));
      expect(row(first, 'a'), first).to.match(/\/b \(cpu \d+(\.\d+)?%\)$/);
      expect(row(first, 'b'), first).to.match(/\/a \(cpu \d+(\.\d+)?%\)$/);
      expect(first.match(/crosstalk top - /g), 'one frame on screen').to.have.length(1);
      expect(first).to.match(/^Measuring every pod and cgroup, a window every 1 s\.\.\. Hit Ctrl-C to end\.$/m);
      // The next window replaces this one on the same screen.
      const window = (text: string) => Number(/window (\d+)/.exec(text)?.[1]);
      await eventually(() => expect(window(pane())).to.be.above(window(first)), 30_000);
      expect(pane().match(/crosstalk top - /g)).to.have.length(1);

      tmux('send-keys', '-t', name, 'C-c');
      const last = await eventually(() => {
        const text = pane();
        expect(text).to.contain('exit status 0');
        return text;
      }, 60_000);
      // Whoever suffered most over the run: the root cgroup, with this test's own
      // processes, may outdo the burners on a busy machine. Long lines wrap in the pane.
      expect(last.replaceAll('\n', '')).to.match(
        /\d+ windows; worst over the run: \S+ \((Low|Medium|High), score \d+\)/,
      );
    } finally {
      spawnSync('tmux', ['kill-session', '-t', name]);
    }
  });

  it('prints plain blocks when piped, and JSON per window with --json', async function () {
    const f = fixture();
    const a = f.cgroup('a');
    const b = f.cgroup('b');
    f.burner(a, 1);
    f.burner(b, 1);
    await sleep(200);
    const plain = startCli(['top', '--interval', '1', '4'], { env: withoutKubeconfig() });
    const json = startCli(['top', '--interval', '1', '--json', '4'], { env: withoutKubeconfig() });
    const [p, j] = await Promise.all([plain.result, json.result]);
    expect(p.code, p.stderr).to.equal(0);
    expect(p.stdout).to.not.match(/\x1b/); // eslint-disable-line no-control-regex
    const blocks = p.stdout.trimEnd().split(/\n\n(?=crosstalk top - )/);
    expect(blocks.length, 'one block per window').to.be.within(2, 5);
    for (const block of blocks) {
      expect(block).to.match(/^crosstalk top - \d\d:\d\d:\d\d, window \d+ \(1 s\)/);
      expect(block).to.match(/\nPOD\/CGROUP +VERDICT +CPU +WAIT +IO p99 +RECLAIM +CPI +TOP AGGRESSOR\n/);
    }
    expect(j.code, j.stderr).to.equal(0);
    const frames = jsonLines(j.stdout) as unknown as { window: number; rows: Row[] }[];
    const lastFrame = frames.at(-1);
    const rowOf = (cg: string) => lastFrame?.rows.find((r) => r.name.endsWith(`/${cg}`));
    for (const [victim, aggressor] of [
      ['a', 'b'],
      ['b', 'a'],
    ] as const) {
      const row = rowOf(victim);
      expect(row?.wait, `${victim} waits about half the window`).to.be.within(0.3, 0.7);
      expect(row?.verdict).to.be.oneOf(['Medium', 'High']);
      expect(row?.topAggressor?.who).to.match(new RegExp(`/${aggressor}$`));
      expect(row?.topAggressor?.share).to.be.at.least(0.8);
    }
  });
});
