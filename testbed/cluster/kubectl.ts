// kubectl from the control-plane build (same version as the API server, so no skew
// warnings), run as one of the control plane's identities.
import { spawn } from 'node:child_process';

import { ControlPlaneError } from './errors.js';
import { onExitCleanup } from './exit-cleanup.js';
import type { Identity } from './identities.js';

export interface KubectlResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit code; 1 from `kubectl auth can-i` means "no". */
  readonly code: number;
}

export interface KubectlOptions {
  /** Who runs the command (default `admin`). */
  readonly identity?: Identity;
  /** Written to kubectl's stdin, e.g. a manifest for `apply -f -`. */
  readonly input?: string;
  /** Throw a ControlPlaneError with kubectl's stderr when it exits non-zero. */
  readonly check?: boolean;
}

/** What kubectl needs from a control plane; ControlPlane provides it. */
export interface KubectlTarget {
  readonly kubectlBinary: string;
  /** kubectl's discovery cache, private to one control plane (ports are reused between runs). */
  readonly kubectlCacheDir: string;
  kubeconfigPath(identity: Identity): string;
}

export function kubectl(
  target: KubectlTarget,
  args: readonly string[],
  options: KubectlOptions = {},
): Promise<KubectlResult> {
  const kubeconfig = target.kubeconfigPath(options.identity ?? 'admin');
  const fullArgs = ['--kubeconfig', kubeconfig, '--cache-dir', target.kubectlCacheDir, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(target.kubectlBinary, fullArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
    // A `kubectl wait` or `delete` outliving the test run would wait for ever.
    const unregister = onExitCleanup(() => child.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', (err) => {
      unregister();
      reject(err);
    });
    child.once('close', (code) => {
      unregister();
      const result = { stdout, stderr, code: code ?? 1 };
      if (options.check && result.code !== 0) {
        reject(new ControlPlaneError('CommandFailed', `kubectl ${args.join(' ')} failed: ${stderr.trim()}`));
      } else {
        resolve(result);
      }
    });
    child.stdin.end(options.input ?? '');
  });
}
