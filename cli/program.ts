// The command line's interface: every subcommand with its options and help. Each action
// loads its implementation only when it runs, so `report` never loads eBPF and the
// snoop tools never load the Kubernetes client unless asked to name pods.
import { Command, Option } from '@commander-js/extra-typings';

import {
  intervalSeconds,
  percent,
  podName,
  positiveInteger,
  processId,
  runDuration,
  thresholdMs,
} from '../common/arguments.js';
import { exitCodes } from './errors.js';

const exitStatusHelp = `
Exit status: ${exitCodes.ok} done; ${exitCodes.failure} failed at run time (API unreachable, not found);
${exitCodes.usage} bad option or argument; ${exitCodes.unsupported} the kernel or machine lacks a feature
(BTF, a tracepoint, a hardware PMU); ${exitCodes.permission} not permitted (eBPF needs root or
CAP_BPF + CAP_PERFMON; the API refused).`;

const snoopHelp = `
Every cgroup is traced; the filter options (-p, --cgroup, --pod) narrow the output. Needs root, or
CAP_BPF and CAP_PERFMON. Runs until Ctrl-C (or SIGTERM, or DURATION), then prints a summary.`;

// Options shared with `top` (new instances per command: commander owns them).
const jsonOption = () => new Option('--json', 'one JSON object per line, and a summary object at the end');
const kubeconfigOption = () =>
  new Option('--kubeconfig <path>', 'kubeconfig for pod names (default: $KUBECONFIG, ~/.kube/config, in-cluster)');
const nodeOption = () => new Option('--node <name>', "this node's name, to list only its pods (default: every pod)");

/** A snoop tool's command with the options every snoop tool has; the caller adds its own
 * options and the action. */
function snoopCommand(program: Command, name: string, description: string, what: string) {
  return program
    .command(name)
    .description(description)
    .argument('[duration]', 'how long to trace: seconds, or 30s, 5m', runDuration)
    .addOption(
      new Option('-t, --threshold <ms>', `show ${what} longer than this many milliseconds (0: all)`)
        .argParser(thresholdMs)
        .default(10_000_000, '10'),
    )
    .addOption(new Option('-p, --pid <pid>', 'only this process (its threads)').argParser(processId))
    .option('--cgroup <path>', 'only this cgroup and its descendants (a path like /kubepods.slice/...)')
    .addOption(
      new Option('--pod <namespace/name>', 'only this pod (asks the Kubernetes API for its UID)').argParser(podName),
    )
    .option('-o, --owner', 'show the owning pod (by name with the API, else UID) or cgroup')
    .addOption(jsonOption())
    .addOption(kubeconfigOption())
    .addOption(nodeOption())
    .addHelpText('after', snoopHelp);
}

/** `name` is how the program was invoked: `crosstalk`, or `kubectl crosstalk` as a plugin. */
export function buildProgram(name: string): Command {
  const program = new Command()
    .name(name)
    .description(
      'Finds noisy neighbours: node-local eBPF tools (BCC style) and the per-victim report of a DiagnosticSession.',
    )
    .exitOverride()
    .showHelpAfterError(`(run "${name} --help" for usage)`)
    .addHelpText('after', exitStatusHelp);

  program
    .command('report')
    .description("prints a DiagnosticSession's per-victim report: verdicts, figures, aggressors and evidence")
    .argument('<session>', 'the DiagnosticSession name')
    .option('-n, --namespace <namespace>', "the session's namespace (default: the kubeconfig context's)")
    .addOption(new Option('-o, --output <format>', 'wide: more columns and every aggressor').choices(['wide']))
    .option('--json', 'print the report as one JSON object')
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .action(async (session, o) => {
      const { runReport } = await import('./commands/report.js');
      await runReport(session, { ...o, wide: o.output === 'wide' });
    });

  snoopCommand(
    program,
    'bio-snoop',
    'traces block IO slower than a threshold: one line per request, with its latency',
    'IOs',
  )
    .option('-d, --disk <disk>', 'only this disk (vda, or major:minor)')
    .option('-s, --stack', 'print the kernel stack of each IO (where it was queued)')
    .action(async (durationMs, o) => {
      const [{ runSnoop }, { bioSnoop }] = await Promise.all([import('./snoop.js'), import('./commands/bio-snoop.js')]);
      await runSnoop(bioSnoop, { ...o, thresholdNs: o.threshold, durationMs });
    });

  snoopCommand(program, 'dr-snoop', 'traces direct and memcg reclaim stalls longer than a threshold', 'stalls')
    .option('-s, --stack', 'print the kernel stack of each stall')
    .action(async (durationMs, o) => {
      const [{ runSnoop }, { drSnoop }] = await Promise.all([import('./snoop.js'), import('./commands/dr-snoop.js')]);
      await runSnoop(drSnoop, { ...o, thresholdNs: o.threshold, durationMs });
    });

  snoopCommand(
    program,
    'runq-snoop',
    'traces run-queue waits longer than a threshold, with who held the CPU meanwhile',
    'waits',
  ).action(async (durationMs, o) => {
    const [{ runSnoop }, { runqSnoop }] = await Promise.all([import('./snoop.js'), import('./commands/runq-snoop.js')]);
    await runSnoop(runqSnoop, { ...o, thresholdNs: o.threshold, durationMs });
  });

  program
    .command('llc-stat')
    .description('counts last-level cache references and misses per process and CPU (or per cgroup)')
    .argument('[duration]', 'how long to count: seconds, or 30s, 5m (default: until Ctrl-C)', runDuration)
    .addOption(
      new Option('-c, --sample-period <n>', 'leave out rows with fewer references (BCC llcstat compatible)')
        .argParser(positiveInteger)
        .default(100),
    )
    .addOption(new Option('--hit-below <percent>', 'only rows whose hit rate is below this').argParser(percent))
    .addOption(
      new Option('--by <grouping>', 'rows per process and CPU, or per cgroup')
        .choices(['pid', 'cgroup'] as const)
        .default('pid' as const),
    )
    .addOption(jsonOption())
    .addOption(new Option('--software-counters', 'tests: software events stand in for the PMU').hideHelp())
    .addHelpText(
      'after',
      `
Counts every event of the hardware counters (no sampling), reading them when a CPU passes
from one process to another. Needs a hardware PMU, and root or CAP_BPF and CAP_PERFMON;
without a PMU (most virtual machines) it says so and exits with status ${exitCodes.unsupported}.`,
    )
    .action(async (durationMs, o) => {
      const { runLlcStat } = await import('./commands/llc-stat.js');
      await runLlcStat({
        by: o.by,
        minReferences: o.samplePeriod,
        hitBelow: o.hitBelow,
        json: o.json,
        durationMs,
        softwareCounters: o.softwareCounters,
      });
    });

  program
    .command('top')
    .description(
      'a live table of every pod and cgroup: CPU, run-queue wait, IO p99, reclaim stall, CPI, verdict and top aggressor',
    )
    .argument('[duration]', 'how long to run: seconds, or 30s, 5m (default: until Ctrl-C)', runDuration)
    .addOption(
      new Option('--interval <seconds>', 'length of a window: the table shows the last one')
        .argParser(intervalSeconds)
        .default(2000, '2'),
    )
    .addOption(
      new Option('--rows <n>', 'table rows at most (default: what the terminal holds)').argParser(positiveInteger),
    )
    .addOption(new Option('--json', 'one JSON object per window'))
    .addOption(kubeconfigOption())
    .addOption(nodeOption())
    .addHelpText(
      'after',
      `
Redraws in place on a terminal; prints one block per window when piped. Verdicts and
aggressors are assessed per window as the agent does for victims. Needs root, or CAP_BPF
and CAP_PERFMON; CPI needs a hardware PMU.`,
    )
    .action(async (durationMs, o) => {
      const { runTop } = await import('./commands/top.js');
      await runTop({ ...o, intervalMs: o.interval, durationMs });
    });

  return program;
}
