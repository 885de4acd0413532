// A control-plane component run as a child in its own process group, with stdout and
// stderr appended to a log file. Stopping signals the whole group (SIGTERM, then SIGKILL
// after a grace period) and waits until no process of the group is left.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class SupervisedProcess {
  /** Resolves when the group leader has exited (never rejects). */
  readonly exited: Promise<ProcessExit>;
  private exit: ProcessExit | undefined;

  private constructor(
    readonly name: string,
    child: ChildProcess,
    /** Also the process group id. */
    readonly pid: number,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  static start(
    name: string,
    command: string,
    args: readonly string[],
    logFile: string,
    env?: Readonly<Record<string, string>>,
  ): SupervisedProcess {
    const log = openSync(logFile, 'a');
    try {
      const child = spawn(command, args, {
        detached: true,
        stdio: ['ignore', log, log],
        ...(env ? { env: { ...process.env, ...env } } : {}),
      });
      if (child.pid === undefined) throw new Error(`${name}: spawn ${command} failed`);
      return new SupervisedProcess(name, child, child.pid, logFile);
    } finally {
      closeSync(log);
    }
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** The last lines of the log, for error messages. */
  logTail(lines = 15): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  async stop(graceMs = 5000): Promise<void> {
    this.signalGroup('SIGTERM');
    const graceful = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!graceful) this.signalGroup('SIGKILL');
    await this.exited;
    // Children the leader left behind still carry its group id.
    for (let i = 0; i < 250 && this.groupAlive(); i++) {
      this.signalGroup('SIGKILL');
      await sleep(20);
    }
  }

  /** For exit handlers, which cannot wait. */
  killNow(): void {
    this.signalGroup('SIGKILL');
  }

  private signalGroup(signal: NodeJS.Signals | 0): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // ESRCH: the group is already empty.
    }
  }

  private groupAlive(): boolean {
    try {
      process.kill(-this.pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}
