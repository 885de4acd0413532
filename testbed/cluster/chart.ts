// The Helm chart (charts/crosstalk) as the test bed uses it: rendered with the project's
// helm, either in part (the access rules of crosstalk's identities, which every control
// plane applies at boot) or whole (the install lane installs it as a user would).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { controlPlaneBinaries } from './binaries.js';
import { agentGroup, agentUserPrefix, operatorUserName } from './identities.js';

const run = promisify(execFile);

export const chartDir = fileURLToPath(new URL('../../charts/crosstalk', import.meta.url));
/** The release and namespace the test bed's identities are bound in. */
export const testbedRelease = { name: 'crosstalk', namespace: 'crosstalk-system' } as const;

export interface HelmResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/** The project's helm with `args` (add `--kubeconfig` for commands that reach a cluster);
 * a failure is a result with its code, not an exception. */
export async function runHelm(args: readonly string[]): Promise<HelmResult> {
  const { helm } = await controlPlaneBinaries();
  try {
    const { stdout, stderr } = await run(helm, [...args], { maxBuffer: 64 * 1024 * 1024 });
    return { stdout, stderr, code: 0 };
  } catch (err: unknown) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? String(err), code: typeof e.code === 'number' ? e.code : 1 };
  }
}

/** runHelm that throws with helm's message when it fails. */
export async function helmOrThrow(args: readonly string[]): Promise<string> {
  const result = await runHelm(args);
  if (result.code !== 0) throw new Error(`helm ${args[0] ?? ''} failed: ${result.stderr.trim()}`);
  return result.stdout;
}

/** `helm template` of the chart; `--set` pairs and `--show-only` templates optional. */
export function renderChart(
  options: { readonly set?: readonly string[]; readonly showOnly?: readonly string[] } = {},
): Promise<string> {
  const args = ['template', testbedRelease.name, chartDir, '--namespace', testbedRelease.namespace];
  for (const pair of options.set ?? []) args.push('--set', pair);
  for (const template of options.showOnly ?? []) args.push('--show-only', `templates/${template}`);
  return helmOrThrow(args);
}

/** The chart's access rules bound to the test bed's certificate identities (user
 * crosstalk-operator; agents crosstalk-agent:<node> in group crosstalk:agents), and the
 * namespace of the operator's lease. */
export function renderTestbedAccess(): Promise<string> {
  return renderChart({
    set: [
      'namespace.create=true',
      `agent.nodeUserPrefix=${agentUserPrefix}`,
      `rbac.extraOperatorSubjects[0].kind=User`,
      `rbac.extraOperatorSubjects[0].name=${operatorUserName}`,
      `rbac.extraOperatorSubjects[0].apiGroup=rbac.authorization.k8s.io`,
      `rbac.extraAgentSubjects[0].kind=Group`,
      `rbac.extraAgentSubjects[0].name=${agentGroup}`,
      `rbac.extraAgentSubjects[0].apiGroup=rbac.authorization.k8s.io`,
    ],
    showOnly: ['namespace.yaml', 'rbac-operator.yaml', 'rbac-agent.yaml', 'agent-admission-policy.yaml'],
  });
}
