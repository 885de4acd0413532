// Runs the installed command line (bin/crosstalk, bin/kubectl-crosstalk) as a user would,
// from a directory outside the repository, and collects its output and exit status.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { repoRoot } from '../cluster/component-process.js';
import { eventually } from '../cluster/eventually.js';
import { onExitCleanup } from '../cluster/exit-cleanup.js';

export const binDir = join(repoRoot, 'bin');
export const crosstalkBin = join(binDir, 'crosstalk');

export interface CliResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit status, or 128 + signal number when killed. */
  readonly code: number;
}

export type CliOptions = SpawnOptions & { command?: string };

/** A running command; its output so far is readable while it runs. */
export class CliRun {
  stdout = '';
  stderr = '';
  readonly result: Promise<CliResult>;
  private exited = false;

  constructor(
    readonly child: ChildProcess,
    unregister: () => void,
  ) {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.result = new Promise<CliResult>((resolve, reject) => {
      child.once('error', (err) => {
        unregister();
        reject(err);
      });
      child.once('close', (code, signal) => {
        this.exited = true;
        unregister();
        resolve({ stdout: this.stdout, stderr: this.stderr, code: code ?? 128 + signalNumber(signal) });
      });
    });
  }

  /** Resolves once stderr matches (e.g. "Hit Ctrl-C to end."); fails if the command exits first. */
  async waitForStderr(pattern: RegExp, timeoutMs = 180_000): Promise<void> {
    await eventually(
      () => {
        if (pattern.test(this.stderr)) return;
        if (this.exited) throw new Error(`exited before printing ${pattern}: ${this.stderr}`);
        throw new Error(`no ${pattern} on stderr yet: ${this.stderr}`);
      },
      timeoutMs,
      50,
    );
  }

  /** Sends `signal` (Ctrl-C by default) and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<CliResult> {
    this.child.kill(signal);
    return this.result;
  }
}

/** Starts `command` (default bin/crosstalk) with `args`, from a directory outside the repository. */
export function startCli(args: readonly string[], options: CliOptions = {}): CliRun {
  const { command = crosstalkBin, ...spawnOptions } = options;
  const child = spawn(command, [...args], { cwd: tmpdir(), ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
  return new CliRun(
    child,
    onExitCleanup(() => child.kill('SIGKILL')),
  );
}

/** Runs to completion. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).result;
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : signal === 'SIGKILL' ? 9 : 0;
}
