// One container's main process: started inside the container's cgroups (every placement
// hierarchy), optionally pinned with taskset, stdout and stderr appended to a log file.
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { TestCgroup } from '../host/cgroups.js';

export interface ContainerExit {
  /** 128 + signal number when a signal ended it, as container runtimes report. */
  readonly exitCode: number;
  readonly signal?: NodeJS.Signals;
  readonly finishedAt: Date;
}

export interface ContainerLaunch {
  readonly cgroup: TestCgroup;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** taskset CPU list. */
  readonly cpus?: string;
  readonly logFile: string;
  readonly clock: () => Date;
}

export class ContainerProcess {
  readonly exited: Promise<ContainerExit>;
  private exitInfo: ContainerExit | undefined;

  private constructor(
    readonly pid: number,
    readonly startedAt: Date,
    child: ChildProcess,
    clock: () => Date,
  ) {
    this.exited = new Promise((resolve) => {
      const finish = (exit: ContainerExit) => {
        this.exitInfo ??= exit;
        resolve(this.exitInfo);
      };
      child.once('exit', (code, signal) => {
        const finishedAt = clock();
        if (signal) finish({ exitCode: 128 + (constants.signals[signal] ?? 0), signal, finishedAt });
        else finish({ exitCode: code ?? 1, finishedAt });
      });
      child.once('error', () => finish({ exitCode: 127, finishedAt: clock() }));
    });
  }

  /** Resolves once the process sits in its cgroups (or has already ended). */
  static async start(launch: ContainerLaunch): Promise<ContainerProcess> {
    const container = ContainerProcess.spawn(launch);
    // The process joins its cgroups itself, just before exec; callers may look at once.
    const dirs = [...launch.cgroup.dirs.values()];
    const deadline = Date.now() + 5000;
    while (container.exit === undefined && !dirs.every((dir) => holds(dir, container.pid))) {
      if (Date.now() > deadline) {
        process.kill(container.pid, 'SIGKILL');
        throw new Error(`process ${container.pid} did not join ${dirs.join(', ')}`);
      }
      await sleep(1);
    }
    return container;
  }

  private static spawn(launch: ContainerLaunch): ContainerProcess {
    const argv = launch.cpus === undefined ? launch.argv : ['taskset', '-c', launch.cpus, ...launch.argv];
    const [command, ...args] = argv;
    if (command === undefined) throw new Error('a container needs a command');
    const log = openSync(launch.logFile, 'a');
    try {
      // Its own process group: a Ctrl-C meant for the test runner must not reach workloads.
      const child = launch.cgroup.spawn(command, args, {
        stdio: ['ignore', log, log],
        env: launch.env,
        detached: true,
      });
      if (child.pid === undefined) throw new Error(`cannot start ${command}`);
      return new ContainerProcess(child.pid, launch.clock(), child, launch.clock);
    } finally {
      closeSync(log);
    }
  }

  /** Undefined while the process runs. */
  get exit(): ContainerExit | undefined {
    return this.exitInfo;
  }
}

function holds(dir: string, pid: number): boolean {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').includes(String(pid));
  } catch {
    return false;
  }
}
