// The node agent as e2e tests and the demo run it: agent/main.ts in its own process (as
// root: it loads eBPF) with its node's agent identity, restricted to the cgroups of one
// harness node, its restart state in a directory that outlives the process.
import { join } from 'node:path';

import { ComponentProcess } from '../cluster/component-process.js';
import type { ControlPlane } from '../cluster/control-plane.js';

export interface AgentLaunch {
  readonly nodeName: string;
  /** The harness node's cgroup scope (NodeHarness.cgroupScope). */
  readonly cgroupScope: string;
  /** Kept across restarts of the same node's agent. */
  readonly stateDir: string;
  /** Run the compiled JavaScript (see ComponentLaunch.compiled). */
  readonly compiled?: boolean;
  /** Added to the agent's environment, e.g. CROSSTALK_TEST_PROBE_SIZES (agent/probe-host.ts). */
  readonly env?: Readonly<Record<string, string>>;
}

export function startAgent(cp: ControlPlane, launch: AgentLaunch, run = 1): Promise<ComponentProcess> {
  return ComponentProcess.start({
    name: `agent ${launch.nodeName}`,
    entry: 'agent/main.ts',
    // prettier-ignore
    args: [
      '--kubeconfig', cp.kubeconfigPath(`agent:${launch.nodeName}`),
      '--node-name', launch.nodeName,
      '--instance', `agent-${launch.nodeName}-${run}`,
      '--cgroup-scope', launch.cgroupScope,
      '--state-dir', launch.stateDir,
      '--http-address', '127.0.0.1:0',
    ],
    logFile: join(cp.logDir, `agent-${launch.nodeName}-${run}.log`),
    servingMessage: 'agent started',
    compiled: launch.compiled ?? false,
    ...(launch.env ? { env: launch.env } : {}),
  });
}
