// The Helm chart (charts/crosstalk) as the test bed uses it: rendered with the project's
// helm, either in part (the access rules of crosstalk's identities, which every control
// plane applies at boot) or whole (the install lane installs it as a user would).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import type { ControlPlaneBinaries } from './binaries.js';
import { agentGroup, agentUserPrefix, operatorUserName } from './identities.js';

const run = promisify(execFile);

export const chartDir = fileURLToPath(new URL('../../charts/crosstalk', import.meta.url));
/** The release and namespace the test bed's identities are bound in. */
export const testbedRelease = { name: 'crosstalk', namespace: 'crosstalk-system' } as const;

/** `helm template` of the chart; `--set` pairs and `--show-only` templates optional. */
export async function renderChart(
  binaries: ControlPlaneBinaries,
  options: { readonly set?: readonly string[]; readonly showOnly?: readonly string[] } = {},
): Promise<string> {
  const args = ['template', testbedRelease.name, chartDir, '--namespace', testbedRelease.namespace];
  for (const pair of options.set ?? []) args.push('--set', pair);
  for (const template of options.showOnly ?? []) args.push('--show-only', `templates/${template}`);
  const { stdout } = await run(binaries.helm, args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** The chart's access rules bound to the test bed's certificate identities (user
 * crosstalk-operator; agents crosstalk-agent:<node> in group crosstalk:agents), and the
 * namespace of the operator's lease. */
export function renderTestbedAccess(binaries: ControlPlaneBinaries): Promise<string> {
  return renderChart(binaries, {
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
