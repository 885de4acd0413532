// Runs the installed command line (bin/crosstalk, bin/kubectl-crosstalk) as a user would,
// from a directory outside the repository, and collects its output and exit status.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { repoRoot } from '../cluster/component-process.js';
import { onExitCleanup } from '../cluster/exit-cleanup.js';

export const binDir = join(repoRoot, 'bin');
export const crosstalkBin = join(binDir, 'crosstalk');

export interface CliResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit status, or 128 + signal number when killed. */
  readonly code: number;
}

/** Starts `command` (default bin/crosstalk) with `args`; output is collected on the result. */
export function startCli(
  args: readonly string[],
  options: SpawnOptions & { command?: string } = {},
): { child: ChildProcess; result: Promise<CliResult> } {
  const { command = crosstalkBin, ...spawnOptions } = options;
  const child = spawn(command, [...args], { cwd: tmpdir(), ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
  const unregister = onExitCleanup(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const result = new Promise<CliResult>((resolve, reject) => {
    child.once('error', (err) => {
      unregister();
      reject(err);
    });
    child.once('close', (code, signal) => {
      unregister();
      resolve({ stdout, stderr, code: code ?? 128 + signalNumber(signal) });
    });
  });
  return { child, result };
}

/** Runs to completion. */
export function runCli(args: readonly string[], options: SpawnOptions & { command?: string } = {}): Promise<CliResult> {
  return startCli(args, options).result;
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : signal === 'SIGKILL' ? 9 : 0;
}
