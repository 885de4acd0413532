// The demo, start to finish: bring the stack up, start the victim and the bystander, apply
// the session, watch it as a user would (`kubectl get dsess -w`) beside the victim's own
// latency, start the aggressor mid-session, show `kubectl crosstalk report`, judge the
// result against the scenario's ground truth, and clean up whatever happens.
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import { formatDuration } from '../agent/report/format.js';
import { podKey } from '../crds/index.js';
import { portListening } from '../testbed/cluster/liveness.js';
import { missingBpf } from '../testbed/host/requirements.js';
import { DemoError } from './errors.js';
import { compareLatency, readLatencyReports, type LatencySummary } from './latency.js';
import { judge, type Outcome } from './outcome.js';
import type { Screen } from './screen.js';
import {
  bystander,
  bystanderDoes,
  bystanderPod,
  namespaces,
  scenarios,
  victim,
  type RunningAggressor,
  type ScenarioContext,
  type ScenarioName,
} from './scenarios.js';
import { readSession, readSessionManifest, sessionFile, waitForPhase } from './session.js';
import { UserShell, type StreamingCommand } from './shell.js';
import { DemoStack } from './stack.js';

export interface DemoOptions {
  readonly scenario: ScenarioName;
  /** Leave everything running after the report until the signal aborts. */
  readonly keep: boolean;
  /** Run the operator and the agent from the TypeScript instead of installing the chart. */
  readonly fromSource: boolean;
}

/** Quiet windows before the aggressor starts: the victim's own baseline. */
const aggressorDelayMs = 12_000;
const runningTimeoutMs = 60_000;
/** Beyond the session's duration: the last window and the operator's aggregation. */
const completionSlackMs = 45_000;

/** Runs the demo; resolves with the verdict checks, or throws when it could not run. */
export async function runDemo(options: DemoOptions, screen: Screen, signal: AbortSignal): Promise<Outcome> {
  preflight();
  const scenario = scenarios[options.scenario];
  const manifest = readSessionManifest();
  screen.print(`crosstalk demo, scenario ${scenario.name}: a noisy neighbour on one node, diagnosed live.\n`);
  const stack = await DemoStack.start(screen, namespaces, options.fromSource);
  let aggressor: RunningAggressor | undefined;
  let watch: StreamingCommand | undefined;
  let ticker: NodeJS.Timeout | undefined;
  try {
    signal.throwIfAborted();
    const ctx: ScenarioContext = { node: stack.node, workDir: stack.workDir, cluster: stack.cp };
    scenario.prepare(ctx);
    const shell = UserShell.for(stack.cp);
    screen.print('');
    await show(screen, shell, ['kubectl', 'apply', '-f', sessionFile]);
    const appliedAt = Date.now();
    watch = showStreaming(screen, shell, ['kubectl', 'get', 'dsess', '-n', manifest.namespace, '-w']);
    // No victim yet: the session waits for one.
    await waitForPhase(stack.cp, manifest, ['Pending'], runningTimeoutMs, signal);
    const victimPod = await screen.step(`victim ${podKey(victim)}: latency probe, ${scenario.victimDoes}`, () =>
      stack.node.createPod(scenario.victim(ctx)),
    );
    await screen.step(`bystander ${podKey(bystander)}: ${bystanderDoes}`, () => stack.node.createPod(bystanderPod));
    const victimLog = victimPod.containers[0]!.logFile;
    const timeline: { aggressorSince?: number } = {};
    ticker = setInterval(() => {
      const last = readLatencyReports(victimLog).at(-1);
      if (!last) return;
      const t = `t+${Math.round((Date.now() - appliedAt) / 1000)} s`;
      const phase = timeline.aggressorSince === undefined ? 'no aggressor yet' : `${scenario.aggressorName} running`;
      screen.status(
        `  ${t}  ${victim.name} latency, last second: p50 ${us(last.p50_us)}, p99 ${us(last.p99_us)} (${phase})`,
      );
    }, 1000);

    await waitForPhase(stack.cp, manifest, ['Running'], runningTimeoutMs, signal);
    await sleep(aggressorDelayMs, undefined, { signal });
    const aggressorSince = Date.now();
    timeline.aggressorSince = aggressorSince;
    screen.print(
      `▶ t+${Math.round((aggressorSince - appliedAt) / 1000)} s: the aggressor ${scenario.aggressorName} starts: ${scenario.aggressorDoes}`,
    );
    aggressor = await scenario.startAggressor(ctx);
    const session = await waitForPhase(
      stack.cp,
      manifest,
      ['Completed', 'Failed'],
      manifest.durationMs + completionSlackMs,
      signal,
    );
    clearInterval(ticker);
    screen.status('');
    if (!options.keep) {
      await aggressor.stop();
      aggressor = undefined;
    }
    await sleep(1000, undefined, { signal }); // the watch's last row
    await watch.stop();
    watch = undefined;

    screen.print('');
    // What automation waits on before it reads the report: the report is final then.
    await show(screen, shell, [
      'kubectl',
      'wait',
      '-n',
      manifest.namespace,
      `dsess/${manifest.name}`,
      '--for=condition=Completed',
      '--timeout=60s',
    ]);
    screen.print('');
    // Wide: every aggressor, not only the top one (on a shared host that may be "/").
    await show(screen, shell, [
      'kubectl',
      'crosstalk',
      'report',
      manifest.name,
      '-n',
      manifest.namespace,
      '-o',
      'wide',
    ]);

    const latency = compareLatency(readLatencyReports(victimLog), appliedAt / 1000, aggressorSince / 1000);
    screen.print(`\nThe victim's own latency (its probe; medians of its per-second p50 and p99):`);
    screen.print(latencyRow('', 'p50', 'p99', ''));
    screen.print(latencyRow(`before ${scenario.aggressorName}`, ...latencyCells(latency.before)));
    screen.print(latencyRow(`with ${scenario.aggressorName}`, ...latencyCells(latency.after)));

    const outcome = judge((await readSession(stack.cp, manifest)) ?? session, scenario);
    screen.print('');
    for (const check of outcome.checks) screen.print(`${check.ok ? '✔' : '✘'} ${check.text}`);
    if (options.keep) await keepRunning(screen, stack, shell, manifest.name, manifest.namespace, signal);
    return outcome;
  } finally {
    if (ticker) clearInterval(ticker);
    screen.close();
    await watch?.stop();
    const leftovers = await screen.step(
      'cleaning up: workloads, agent, operator, node, control plane',
      async () => {
        await aggressor?.stop();
        const scopes = stack.node.hierarchies.map((h) => stack.node.scopeDir(h));
        const ports = stack.ports;
        await stack.close();
        return findLeftovers([stack.cp.dir, stack.workDir, ...scopes], ports);
      },
      (found) => (found.length === 0 ? 'no process, cgroup, port or temporary directory left' : found.join('; ')),
    );
    if (leftovers.length > 0) screen.print(`✘ left behind: ${leftovers.join('; ')}`);
  }
}

function preflight(): void {
  const missing = missingBpf();
  if (missing) throw new DemoError('MissingRequirement', `the demo ${missing}; run it as root (sudo make demo)`);
  if (cpus().length < 2) {
    throw new DemoError('MissingRequirement', 'the demo pins its workloads to CPUs 0 and 1: it needs 2 CPUs or more');
  }
}

/** Prints `$ command` and its output, as a terminal would. */
async function show(screen: Screen, shell: UserShell, argv: readonly string[]): Promise<void> {
  screen.print(`$ ${argv.join(' ')}`);
  const result = await shell.run(argv);
  screen.print(result.output.trimEnd());
  if (result.code !== 0) throw new DemoError('CommandFailed', `${argv.join(' ')} exited with ${result.code}`);
}

/** Prints `$ command` and then its rows as they come, leaving out rows that repeat the
 * previous one but for the last column (AGE). */
function showStreaming(screen: Screen, shell: UserShell, argv: readonly string[]): StreamingCommand {
  screen.print(`$ ${argv.join(' ')}`);
  let previous = '';
  return shell.stream(argv, (line) => {
    const withoutAge = line.replace(/\s+\S+\s*$/, '');
    if (withoutAge === previous) return;
    previous = withoutAge;
    screen.print(line);
  });
}

function us(micros: number): string {
  return formatDuration(micros * 1000);
}

function latencyCells(summary: LatencySummary | undefined): [string, string, string] {
  if (!summary) return ['-', '-', 'no report'];
  return [us(summary.p50Us), us(summary.p99Us), `${summary.seconds} s`];
}

function latencyRow(label: string, p50: string, p99: string, span: string): string {
  return `  ${label.padEnd(24)}${p50.padStart(10)}${p99.padStart(10)}  ${span}`.trimEnd();
}

async function keepRunning(
  screen: Screen,
  stack: DemoStack,
  shell: UserShell,
  name: string,
  namespace: string,
  signal: AbortSignal,
): Promise<void> {
  screen.print(
    [
      '',
      'The cluster keeps running (--keep). Explore it from another shell:',
      ...shell.exports().map((line) => `  ${line}`),
      '  kubectl get dsess,nodediag -A',
      `  kubectl crosstalk report ${name} -n ${namespace}`,
      `  kubectl get dsess ${name} -n ${namespace} -o yaml`,
      '  kubectl get pods -A -o wide',
      `  kubectl apply -f ${sessionFile}   # after kubectl delete dsess ${name} -n ${namespace}: a new session`,
      `Logs of the components: ${stack.cp.logDir}`,
      'Ctrl-C stops everything and removes it.',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** What should be gone after close(): directories (the control plane's, the scratch one,
 * the node's cgroup scope, which cannot be removed while a process is in it) and ports. */
async function findLeftovers(dirs: readonly string[], ports: readonly number[]): Promise<string[]> {
  const found = dirs.filter((dir) => existsSync(dir));
  for (const port of ports) if (await portListening(port)) found.push(`port ${port} still listening`);
  return found;
}
