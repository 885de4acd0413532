// The operator as e2e tests run it: operator/main.ts in its own process with the operator
// identity's kubeconfig and a short leader lease, its log beside the control plane's.
import { join } from 'node:path';

import { testbedRelease } from '../cluster/chart.js';
import { ComponentProcess } from '../cluster/component-process.js';
import type { ControlPlane } from '../cluster/control-plane.js';

/** Short leases so that failover tests take seconds, not the production 15 s. */
export const testLeaseArgs = ['--lease-duration', '4s', '--renew-deadline', '3s', '--retry-period', '500ms'];
/** The chart's release namespace, where the operator's lease Role is. */
export const leaseNamespace = testbedRelease.namespace;

export class OperatorProcess {
  private constructor(
    readonly identity: string,
    readonly component: ComponentProcess,
  ) {}

  /** Starts an operator and resolves once it serves /healthz. */
  static async start(cp: ControlPlane, identity: string, extraArgs: readonly string[] = []): Promise<OperatorProcess> {
    const component = await ComponentProcess.start({
      name: `operator ${identity}`,
      entry: 'operator/main.ts',
      // prettier-ignore
      args: [
        '--kubeconfig', cp.kubeconfigPath('operator'),
        '--identity', identity,
        '--http-address', '127.0.0.1:0',
        '--leader-election-namespace', leaseNamespace,
        '--resync', '1m',
        ...testLeaseArgs,
        ...extraArgs,
      ],
      logFile: join(cp.logDir, `operator-${identity}.log`),
      servingMessage: 'serving health and metrics',
    });
    return new OperatorProcess(identity, component);
  }

  get running(): boolean {
    return this.component.running;
  }

  get logFile(): string {
    return this.component.logFile;
  }

  log() {
    return this.component.log();
  }

  http(path: string) {
    return this.component.http(path);
  }

  metric(name: string, match = '') {
    return this.component.metric(name, match);
  }

  stop(): Promise<void> {
    return this.component.stop();
  }

  kill(): Promise<void> {
    return this.component.kill();
  }
}
