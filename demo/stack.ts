// Everything the demo runs besides the workloads: the embedded control plane, one harness
// node, and crosstalk installed as a user installs it (its image, `helm install` of the
// chart, the operator and the agent as the node's pods), or with `fromSource` the
// development loop (the operator and the agent as local processes from the TypeScript);
// plus a scratch directory on disk for the agent's state and the scenarios' data files.
// close() stops them in reverse order and leaves no process, cgroup, port or directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startAgent } from '../testbed/components/agent-process.js';
import { chartDir, helmOrThrow } from '../testbed/cluster/chart.js';
import type { ComponentProcess } from '../testbed/cluster/component-process.js';
import { crosstalkImage } from '../testbed/components/crosstalk-image.js';
import { setCpuAffinity } from '../testbed/cluster/cpu-affinity.js';
import { startControlPlane, type ControlPlane } from '../testbed/cluster/control-plane.js';
import { kubectl } from '../testbed/cluster/kubectl.js';
import { abandonedDirectories, claimDirectory } from '../testbed/cluster/ownership.js';
import { NodeHarness } from '../testbed/kubelet/node-harness.js';
import { OperatorProcess } from '../testbed/components/operator-process.js';
import { DemoError } from './errors.js';
import type { Screen } from './screen.js';

export const demoNodeName = 'demo-node';
/** Where `helm install` puts crosstalk in the demo's cluster. */
export const demoRelease = { name: 'crosstalk', namespace: 'crosstalk-system' } as const;
const workDirPrefix = 'crosstalk-demo-';

/** The CPU the demo's own processes (control plane, operator, agent, kubectl) keep to,
 * like a kubelet's --reserved-cpus for system daemons: the victim's CPU then sees only
 * pods, and the aggressor is the one that changes its life. */
export const systemCpu = 0;

/** Confines this process, and so everything it starts later, to the system CPU. Pods
 * pinned elsewhere (`cpus`) widen their own affinity again. */
function reserveSystemCpu(): void {
  try {
    setCpuAffinity(process.pid, String(systemCpu));
  } catch (err) {
    throw new DemoError('MissingRequirement', err instanceof Error ? err.message : String(err));
  }
}

export class DemoStack {
  private components: {
    operator?: OperatorProcess;
    node?: NodeHarness;
    agent?: ComponentProcess;
    release?: boolean;
  } = {};
  private closing: Promise<void> | undefined;

  private constructor(
    readonly cp: ControlPlane,
    /** Agent state and scenario data; removed by close(). */
    readonly workDir: string,
  ) {}

  /** Starts everything, each part as a step on `screen`. On failure, what started is stopped. */
  static async start(screen: Screen, namespaces: readonly string[], fromSource: boolean): Promise<DemoStack> {
    for (const dir of abandonedDirectories(workDirPrefix)) rmSync(dir, { recursive: true, force: true });
    reserveSystemCpu();
    const cp = await screen.step(
      fromSource
        ? 'control plane: etcd, kube-apiserver, kube-controller-manager; CRDs installed'
        : 'control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler',
      () => startControlPlane({ workloads: !fromSource }),
      (started) => `${started.server}, working directory ${started.dir}`,
    );
    const workDir = mkdtempSync(join(tmpdir(), workDirPrefix));
    claimDirectory(workDir);
    const stack = new DemoStack(cp, workDir);
    try {
      if (fromSource) await stack.startComponents(screen);
      else await stack.install(screen);
      for (const ns of namespaces) await kubectl(cp, ['create', 'namespace', ns], { check: true });
    } catch (err: unknown) {
      await stack.close();
      throw err;
    }
    return stack;
  }

  get node(): NodeHarness {
    if (!this.components.node) throw new Error('the demo node is not running');
    return this.components.node;
  }

  /** Loopback addresses in use (the API server, etcd, the components' HTTP servers). */
  get ports(): number[] {
    const { apiserver, etcdClient, etcdPeer } = this.cp.ports;
    const http = [this.components.operator?.component, this.components.agent].flatMap((c) =>
      c ? [Number(c.address.slice(c.address.lastIndexOf(':') + 1))] : [],
    );
    return [apiserver, etcdClient, etcdPeer, ...http];
  }

  /** Idempotent; stops in reverse order and keeps going past a part that fails to stop. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** The path users take: the image, the chart, the pods rolled out. */
  private async install(screen: Screen): Promise<void> {
    const cp = this.cp;
    const image = await screen.step(
      'image: make image (buildah, no daemon; cached)',
      () => crosstalkImage(),
      (built) => `${built.reference} from ${built.ociArchive}`,
    );
    await screen.step(
      `node ${demoNodeName}: kubelet stand-in (pods in kubelet-layout cgroups; images unpacked and sandboxed)`,
      async () =>
        (this.components.node = await NodeHarness.start({
          kubeconfig: cp.kubeconfigPath('admin'),
          nodeName: demoNodeName,
          images: { [image.reference]: image.ociArchive },
        })),
      (started) => `cgroups under ${started.cgroupScope}`,
    );
    const helmArgs = ['--kubeconfig', cp.kubeconfigPath('admin'), '--namespace', demoRelease.namespace];
    await screen.step(
      `helm install ${demoRelease.name} charts/crosstalk -n ${demoRelease.namespace}; kubectl rollout status`,
      async () => {
        // prettier-ignore
        await helmOrThrow(['install', demoRelease.name, chartDir, '--create-namespace', ...helmArgs,
          '--set', `image.tag=${image.reference.split(':')[1] ?? ''}`,
          // One node, two cores: one operator replica is enough to watch.
          '--set', 'operator.replicas=1',
          '--set', `agent.stateDir=${join(this.workDir, 'agent-state')}`]);
        this.components.release = true;
        for (const workload of [`deployment/${demoRelease.name}-operator`, `daemonset/${demoRelease.name}-agent`]) {
          await kubectl(cp, ['rollout', 'status', '-n', demoRelease.namespace, workload, '--timeout=180s'], {
            check: true,
          });
        }
      },
      () => 'operator and agent Ready',
    );
  }

  /** The development loop: the operator and the agent from the TypeScript, as processes. */
  private async startComponents(screen: Screen): Promise<void> {
    const cp = this.cp;
    // The operator and the node boot side by side: each is a Node process compiling its
    // TypeScript, most of their start-up time.
    const operator = screen.step(
      'operator',
      async () => (this.components.operator = await OperatorProcess.start(cp, 'demo', ['--no-leader-elect'])),
      (started) => `health and metrics on ${started.component.address}, log ${started.logFile}`,
    );
    const agent = (async () => {
      const node = await screen.step(
        `node ${demoNodeName}: kubelet stand-in (pods as processes in kubelet-layout cgroups)`,
        async () =>
          (this.components.node = await NodeHarness.start({
            kubeconfig: cp.kubeconfigPath('admin'),
            nodeName: demoNodeName,
          })),
        (started) => `cgroups under ${started.cgroupScope}`,
      );
      await screen.step(
        `agent on ${demoNodeName}`,
        async () =>
          (this.components.agent = await startAgent(cp, {
            nodeName: demoNodeName,
            cgroupScope: node.cgroupScope,
            stateDir: join(this.workDir, 'agent-state'),
          })),
        (started) => `health and metrics on ${started.address}, log ${started.logFile}`,
      );
    })();
    const settled = await Promise.allSettled([operator, agent]);
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
  }

  /** Sessions first (their finalizers need the operator), then the release, as documented. */
  private async uninstall(): Promise<void> {
    await kubectl(this.cp, ['delete', 'dsess', '--all', '-A', '--wait', '--timeout=60s'], { check: true });
    // prettier-ignore
    await helmOrThrow(['uninstall', demoRelease.name, '--kubeconfig', this.cp.kubeconfigPath('admin'),
      '--namespace', demoRelease.namespace, '--wait']);
  }

  private async shutdown(): Promise<void> {
    const { agent, operator, node, release } = this.components;
    const failures: unknown[] = [];
    const attempt = async (stop: (() => Promise<void>) | undefined) => {
      try {
        await stop?.();
      } catch (err: unknown) {
        failures.push(err);
      }
    };
    // The agent first, so that it detaches its probes while the API server still answers.
    await attempt(release ? () => this.uninstall() : undefined);
    await attempt(agent && (() => agent.stop()));
    await attempt(operator && (() => operator.stop()));
    await attempt(node && (() => node.close()));
    await attempt(() => this.cp.stop());
    rmSync(this.workDir, { recursive: true, force: true });
    if (failures.length > 0) throw new AggregateError(failures, 'some demo components did not stop cleanly');
  }
}
