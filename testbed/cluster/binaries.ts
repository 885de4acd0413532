// The control-plane binaries and helm, built from the Go module proxy by build.sh into a cache
// outside the repository (about 5 minutes the first time, instant afterwards).
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

import { ControlPlaneError } from './errors.js';

export interface ControlPlaneBinaries {
  readonly dir: string;
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
  readonly kubectl: string;
  readonly helm: string;
}

const buildScript = fileURLToPath(new URL('build.sh', import.meta.url));

let built: Promise<ControlPlaneBinaries> | undefined;

/** Builds the binaries when they are not cached yet (progress on stderr); once per process. */
export function controlPlaneBinaries(): Promise<ControlPlaneBinaries> {
  built ??= runBuild().catch((err: unknown) => {
    built = undefined;
    throw err;
  });
  return built;
}

/** Why the control plane cannot be had here, or undefined when it can (for requireOrSkip). */
export function missingControlPlane(): string | undefined {
  if (spawnSync('openssl', ['version']).status !== 0) return 'needs openssl for the control plane certificates';
  if (spawnSync('go', ['version']).status === 0) return undefined;
  // Without Go, build.sh still succeeds when the binaries are cached.
  if (spawnSync('bash', [buildScript], { stdio: 'ignore' }).status === 0) return undefined;
  return 'needs Go to build etcd and kube-apiserver (testbed/cluster/build.sh)';
}

function runBuild(): Promise<ControlPlaneBinaries> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [buildScript], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      const dir = stdout.trimEnd().split('\n').at(-1) ?? '';
      if (code !== 0 || !dir.startsWith('/')) {
        reject(new ControlPlaneError('BuildFailed', `testbed/cluster/build.sh exited with ${code ?? 'a signal'}`));
        return;
      }
      resolve({
        dir,
        etcd: join(dir, 'etcd'),
        kubeApiserver: join(dir, 'kube-apiserver'),
        kubeControllerManager: join(dir, 'kube-controller-manager'),
        kubeScheduler: join(dir, 'kube-scheduler'),
        kubectl: join(dir, 'kubectl'),
        helm: join(dir, 'helm'),
      });
    });
  });
}
