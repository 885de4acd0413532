// The stack most agent e2e suites run on: one harness node, the operator and the node's
// agent against the suite's control plane, with CPU 0 reserved for everything that is not
// a pod (kubelet's --reserved-cpus: the control plane, the operator, the agent and the
// test), so that pods pinned to CPU 1 see only pods, whatever else the machine runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ComponentProcess } from '../../testbed/cluster/component-process.js';
import type { ControlPlane } from '../../testbed/cluster/control-plane.js';
import { allCpus, setCpuAffinity } from '../../testbed/cluster/cpu-affinity.js';
import { kubectl } from '../../testbed/cluster/kubectl.js';
import { startAgent } from '../../testbed/components/agent-process.js';
import { OperatorProcess } from '../../testbed/components/operator-process.js';
import { NodeHarness } from '../../testbed/kubelet/node-harness.js';

export const systemCpu = '0';

export interface NodeStack {
  readonly node: NodeHarness;
  readonly operator: OperatorProcess;
  readonly agent: ComponentProcess;
  /** The agent's restart state, kept across agent restarts, removed by stopNodeStack. */
  readonly stateDir: string;
}

export interface NodeStackOptions {
  /** Namespaces created for the suite's pods and sessions. */
  readonly namespaces: readonly string[];
  /** Default `--no-leader-elect`. */
  readonly operatorArgs?: readonly string[];
}

/** node-a with its agent, and the operator. */
export async function startNodeStack(cp: ControlPlane, options: NodeStackOptions): Promise<NodeStack> {
  for (const c of cp.components) setCpuAffinity(c.pid, systemCpu);
  setCpuAffinity(process.pid, systemCpu);
  const stateDir = mkdtempSync(join(tmpdir(), 'crosstalk-agent-state-'));
  const node = await NodeHarness.start({ kubeconfig: cp.kubeconfigPath('admin'), nodeName: 'node-a' });
  const operator = await OperatorProcess.start(cp, 'op-1', [...(options.operatorArgs ?? ['--no-leader-elect'])]);
  const agent = await startAgentOn(cp, node, stateDir);
  for (const ns of options.namespaces) await kubectl(cp, ['create', 'namespace', ns], { check: true });
  return { node, operator, agent, stateDir };
}

/** The node's agent (again, after a kill: `run` numbers its log). */
export function startAgentOn(
  cp: ControlPlane,
  node: NodeHarness,
  stateDir: string,
  run = 1,
): Promise<ComponentProcess> {
  return startAgent(cp, { nodeName: node.nodeName, cgroupScope: node.cgroupScope, stateDir }, run);
}

/** Stops what runs of the stack (`agent` may have been restarted since: pass the current one). */
export async function stopNodeStack(stack: Partial<NodeStack>): Promise<void> {
  setCpuAffinity(process.pid, allCpus());
  if (stack.agent?.running) await stack.agent.stop();
  if (stack.operator?.running) await stack.operator.stop();
  await stack.node?.close();
  if (stack.stateDir) rmSync(stack.stateDir, { recursive: true, force: true });
}
