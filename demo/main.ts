// make demo / npm run demo: crosstalk on an embedded cluster, diagnosing a noisy neighbour.
// Exit status: 0 when crosstalk named the aggressor (and not the bystander) with a verdict
// above None, 1 when it did not, 2 when the demo could not run, 130 when interrupted.
import { Command, Option } from '@commander-js/extra-typings';

import { DemoError } from './errors.js';
import { runDemo } from './run.js';
import { scenarioNames } from './scenarios.js';
import { LiveScreen, PlainScreen, type Screen } from './screen.js';

export const exitCodes = { ok: 0, missed: 1, failed: 2, interrupted: 130 } as const;

const program = new Command()
  .name('npm run demo --')
  .description(
    'Starts a local Kubernetes control plane and one harness node, installs crosstalk with its Helm chart, runs a victim, a ' +
      'bystander and (mid-session) an aggressor on a harness node, applies examples/noisy-neighbour.yaml and ' +
      'shows what crosstalk finds. Needs root (eBPF, cgroups). Everything is removed on exit or Ctrl-C.',
  )
  .addOption(new Option('--scenario <name>', 'the kind of interference').choices(scenarioNames).default('cpu' as const))
  .option('--keep', 'leave the cluster running after the report (Ctrl-C ends it) and print how to reach it')
  .option(
    '--from-source',
    'the development loop: the operator and the agent from the TypeScript, not the image and chart',
  )
  .option('--ci', 'non-interactive: plain lines, no live redraw; the exit status says whether crosstalk got it right')
  .addHelpText(
    'after',
    `\nExit status: ${exitCodes.ok} diagnosis right, ${exitCodes.missed} diagnosis wrong, ` +
      `${exitCodes.failed} the demo could not run, ${exitCodes.interrupted} interrupted.`,
  );

async function main(): Promise<number> {
  const options = program.parse().opts();
  // Installed before anything registers exit cleanups, so that Ctrl-C means a graceful
  // clean-up; a second Ctrl-C exits at once (exit handlers still kill what was started).
  const abort = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (abort.signal.aborted) process.exit(exitCodes.interrupted);
      abort.abort(new DemoError('Interrupted', `interrupted by ${signal}`));
    });
  }
  const interactive = !options.ci && process.stdout.isTTY;
  const screen: Screen = interactive
    ? new LiveScreen()
    : new PlainScreen({ write: (text) => process.stdout.write(text) });
  try {
    const outcome = await runDemo(
      { scenario: options.scenario, keep: options.keep ?? false, fromSource: options.fromSource ?? false },
      screen,
      abort.signal,
    );
    screen.print(
      outcome.ok ? '\ndemo: crosstalk got it right.' : '\ndemo: crosstalk did NOT get it right (see ✘ above).',
    );
    return outcome.ok ? exitCodes.ok : exitCodes.missed;
  } catch (err: unknown) {
    screen.close();
    if (abort.signal.aborted) {
      console.error('demo: interrupted; everything it started has been stopped and removed.');
      return exitCodes.interrupted;
    }
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    return exitCodes.failed;
  }
}

process.exitCode = await main();
