// The command line's interface: every subcommand with its options and help. Each action
// loads its implementation only when it runs, so `report` never loads eBPF and the
// snoop tools never load the Kubernetes client unless asked to name pods.
import { Command, Option } from '@commander-js/extra-typings';

import { exitCodes } from './errors.js';

const exitStatusHelp = `
Exit status: ${exitCodes.ok} done; ${exitCodes.failure} failed at run time (API unreachable, not found);
${exitCodes.usage} bad option or argument; ${exitCodes.unsupported} the kernel or machine lacks a feature
(BTF, a tracepoint, a hardware PMU); ${exitCodes.permission} not permitted (eBPF needs root or
CAP_BPF + CAP_PERFMON; the API refused).`;

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

  return program;
}
