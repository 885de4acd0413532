// The README's first command, as CI runs it: `demo/main.ts --ci` on a real control plane,
// operator, agent (real eBPF) and harness node. Its output is the product here: the
// session rows, the report naming the aggressor and not the bystander, the victim's own
// latency; then nothing may be left behind, whether it ends by itself or by Ctrl-C.
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { readCgroupMounts, readProcCgroup } from '../../agent/cgroups/mounts.js';
import { placementHierarchies } from '../../testbed/host/cgroups.js';
import { missingBpf, requireOrSkip } from '../../testbed/host/requirements.js';
import { missingControlPlane } from '../../testbed/cluster/binaries.js';
import { repoRoot } from '../../testbed/cluster/component-process.js';
import { eventually } from '../../testbed/cluster/eventually.js';
import { onExitCleanup } from '../../testbed/cluster/exit-cleanup.js';
import { portListening } from '../../testbed/cluster/liveness.js';

class DemoRun {
  output = '';
  readonly exited: Promise<number>;
  private readonly child: ChildProcess;

  constructor(args: readonly string[]) {
    // prettier-ignore
    this.child = spawn(process.execPath, [
      '--no-experimental-strip-types', '--no-deprecation', '--import', './scripts/register-ts.mjs', 'demo/main.ts', ...args,
    ], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const unregister = onExitCleanup(() => this.child.kill('SIGKILL'));
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream?.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    }
    this.exited = new Promise((resolve) =>
      this.child.once('close', (code) => {
        unregister();
        resolve(code ?? -1);
      }),
    );
  }

  /** Resolves once the output matches, with the match. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    return eventually(
      () => {
        const match = pattern.exec(this.output);
        if (!match) throw new Error(`no ${pattern} in the demo's output so far:\n${this.output}`);
        return match;
      },
      timeoutMs,
      200,
    );
  }

  interrupt(): void {
    this.child.kill('SIGINT');
  }
}

/** What the demo told about itself: its control-plane directory, node scope and ports. */
function resourcesOf(output: string): { dir: string; scope: string; ports: number[] } {
  const dir = /working directory (\S+) \(/.exec(output)?.[1];
  const scope = /cgroups under (crosstalk-\d+-demo-node)/.exec(output)?.[1];
  const ports = [...output.matchAll(/(?:https:\/\/|health and metrics on )127\.0\.0\.1:(\d+)/g)].map((m) =>
    Number(m[1]),
  );
  // The API server's port at least; the operator's and the agent's run in the node's pods
  // (their processes are found by the node's cgroup scope).
  if (!dir || !scope || ports.length < 1) throw new Error(`the demo did not print its resources:\n${output}`);
  return { dir, scope, ports };
}

/** Processes whose command line names `dir` or that sit in a cgroup beneath `scope`. */
function processesOf(dir: string, scope: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const cgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      if (cmdline.includes(dir) || cgroups.includes(`/${scope}/`)) found.push(`${pid} ${cmdline}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function expectNothingLeft(output: string): Promise<void> {
  const { dir, scope, ports } = resourcesOf(output);
  expect(existsSync(dir), `${dir} left behind`).to.equal(false);
  // The demo ran in this process's cgroups, so its node scope sits beneath them.
  const { mountPoints } = readCgroupMounts();
  const own = readProcCgroup();
  for (const h of placementHierarchies()) {
    const scopeDir = join(mountPoints.get(h) ?? '', own.get(h) ?? '/', scope);
    expect(existsSync(scopeDir), `cgroup ${scopeDir} left behind`).to.equal(false);
  }
  expect(processesOf(dir, scope)).to.deep.equal([]);
  for (const port of ports) expect(await portListening(port), `port ${port} still listening`).to.equal(false);
}

describe('demo (e2e)', function () {
  this.timeout(300_000);

  before(function () {
    requireOrSkip(this, missingBpf());
    requireOrSkip(this, missingControlPlane());
  });

  it('--ci --keep: names the aggressor and not the bystander, keeps the cluster for kubectl, Ctrl-C removes it all', async function () {
    const run = new DemoRun(['--ci', '--keep']);
    try {
      await run.waitFor(/Ctrl-C stops everything/, 240_000);
      // The printed environment reaches the kept cluster with kubectl from another shell.
      const kubeconfig = (await run.waitFor(/export KUBECONFIG=(\S+)/, 0))[1]!;
      const path = (await run.waitFor(/export PATH=(\S+):\$PATH/, 0))[1]!;
      const phase = spawnSync(
        'kubectl',
        ['get', 'dsess', '-n', 'shop', 'noisy-neighbour', '-o', 'jsonpath={.status.phase}'],
        {
          env: { ...process.env, KUBECONFIG: kubeconfig, PATH: `${path}:${process.env.PATH ?? ''}` },
          encoding: 'utf8',
        },
      );
      expect(phase.stdout, phase.stderr).to.equal('Completed');
    } finally {
      run.interrupt();
    }
    const code = await run.exited;
    const out = run.output;
    expect(code, out).to.equal(0);
    // The session as `kubectl get dsess -w` showed it.
    expect(out).to.include('$ kubectl apply -f examples/noisy-neighbour.yaml');
    expect(out).to.include('diagnosticsession.crosstalk.dev/noisy-neighbour created');
    for (const phaseName of ['Pending', 'Running', 'Completed'])
      expect(out).to.match(new RegExp(`noisy-neighbour\\s+${phaseName}\\s`));
    expect(out).to.match(/noisy-neighbour\s+Completed\s+1\/1\s+1\s+(Low|Medium|High)\s/);
    // The documented wait for a final report.
    expect(out).to.include(
      '$ kubectl wait -n shop dsess/noisy-neighbour --for=condition=Completed --timeout=60s\ndiagnosticsession.crosstalk.dev/noisy-neighbour condition met',
    );
    // The verdict, the aggressor with its evidence, not the bystander.
    expect(out).to.match(/✔ the victim shop\/checkout got the verdict (Low|Medium|High)\n/);
    expect(out).to.match(
      /✔ the aggressor batch\/etl \(cpu \d+%\) was named: ran on the victim's CPU for [\d.]+ m?s of the [\d.]+ m?s the victim waited for it/,
    );
    expect(out).to.include('✔ the bystander web/frontend was not named');
    expect(out).not.to.match(/^✘/m);
    const report =
      /\$ kubectl crosstalk report noisy-neighbour -n shop -o wide\n([^]*?)\nThe victim's own latency/.exec(out)?.[1];
    expect(report, out).to.match(/shop\/checkout\s+demo-node\s+(Low|Medium|High)\s/);
    expect(report).to.include('batch/etl (cpu');
    expect(report).not.to.include('web/frontend');
    // The victim's own latency on both sides of the aggressor's start.
    expect(out).to.match(/before batch\/etl\s+\d[\d.]* [µm]?s\s+\d[\d.]* [µm]?s\s+\d+ s/);
    expect(out).to.match(/with batch\/etl\s+\d[\d.]* [µm]?s\s+\d[\d.]* [µm]?s\s+\d+ s/);
    expect(out).to.include('no process, cgroup, port or temporary directory left');
    await expectNothingLeft(out);
  });

  it('Ctrl-C mid-session stops the workloads and the cluster, leaves nothing and exits 130', async function () {
    const run = new DemoRun(['--ci']);
    try {
      await run.waitFor(/▶ t\+\d+ s: the aggressor batch\/etl starts/, 180_000);
    } finally {
      run.interrupt();
    }
    const code = await run.exited;
    expect(code, run.output).to.equal(130);
    expect(run.output).to.include('demo: interrupted; everything it started has been stopped and removed.');
    await expectNothingLeft(run.output);
  });
});
