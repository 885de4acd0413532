// The commands the demo shows, run exactly as a user would type them: KUBECONFIG set to the
// admin identity, kubectl (same version as the API server) and the kubectl-crosstalk
// plugin on PATH, from the repository's root.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';

import { repoRoot } from '../testbed/cluster/component-process.js';
import type { ControlPlane } from '../testbed/cluster/control-plane.js';
import { onExitCleanup } from '../testbed/cluster/exit-cleanup.js';

export interface CommandResult {
  readonly output: string;
  readonly code: number;
}

/** A command whose output lines arrive as it runs (e.g. `kubectl get -w`). */
export interface StreamingCommand {
  /** Resolves with the exit code once it has ended by itself or been stopped. */
  readonly exited: Promise<number>;
  stop(): Promise<number>;
}

export class UserShell {
  private constructor(private readonly vars: Readonly<Record<string, string>>) {}

  static for(cp: ControlPlane): UserShell {
    return new UserShell({
      KUBECONFIG: cp.kubeconfigPath('admin'),
      PATH: [dirname(cp.kubectlBinary), join(repoRoot, 'bin')].join(':'),
      // kubectl's discovery cache, private to this cluster (ports are reused between runs).
      KUBECACHEDIR: cp.kubectlCacheDir,
    });
  }

  /** The lines that give another shell the same environment. */
  exports(): string[] {
    return [`export KUBECONFIG=${this.vars.KUBECONFIG}`, `export PATH=${this.vars.PATH}:$PATH`];
  }

  /** Runs a command to its end; stdout and stderr interleaved as a terminal shows them. */
  async run(argv: readonly string[]): Promise<CommandResult> {
    let output = '';
    const code = await this.stream(argv, (line) => (output += `${line}\n`)).exited;
    return { output, code };
  }

  /** Starts a command; `onLine` gets each line of its output as it comes. */
  stream(argv: readonly string[], onLine: (line: string) => void): StreamingCommand {
    const [command, ...args] = argv;
    const env = { ...process.env, ...this.vars, PATH: `${this.vars.PATH}:${process.env.PATH ?? ''}` };
    const child = spawn(command!, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const unregister = onExitCleanup(() => child.kill('SIGKILL'));
    const pending = { stdout: '', stderr: '' };
    for (const name of ['stdout', 'stderr'] as const) {
      child[name].setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (pending[name] + chunk).split('\n');
        pending[name] = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      });
    }
    const exited = new Promise<number>((resolve) => {
      child.once('error', (err) => {
        onLine(`${command}: ${err.message}`);
        resolve(127);
      });
      child.once('close', (code, signal) => {
        unregister();
        for (const rest of [pending.stdout, pending.stderr]) if (rest) onLine(rest);
        resolve(code ?? (signal ? 128 + 15 : 1));
      });
    });
    return {
      exited,
      stop: () => {
        child.kill('SIGTERM');
        return exited;
      },
    };
  }
}
