// CPU affinity of running processes (taskset), for runs that reserve a CPU for system
// processes the way kubelet's --reserved-cpus does: the pods' CPU then sees only pods.
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';

import { ControlPlaneError } from './errors.js';

/** Every CPU of this machine, as a taskset list. Counted from the machine, not from this
 * process's affinity, which a reservation may have narrowed. */
export function allCpus(): string {
  return `0-${cpus().length - 1}`;
}

/** Confines a process and all its threads (and so what it starts later) to `cpus`. */
export function setCpuAffinity(pid: number, cpus: string): void {
  const result = spawnSync('taskset', ['--all-tasks', '--cpu-list', '--pid', cpus, String(pid)], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new ControlPlaneError(
      'CommandFailed',
      `taskset could not pin process ${pid} to CPUs ${cpus}: ${result.stderr}`,
    );
  }
}
