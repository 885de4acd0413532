// Shared by the command-line tests: a workload whose process id is known before it does
// anything (it waits for a line on stdin, then execs the command, keeping its pid), and
// the environment the installed command runs in.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

import type { TestCgroup } from '../../../testbed/host/cgroups.js';

export interface GatedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Lets it run; resolves with its exit code. */
  go(): Promise<number>;
}

export function gated(cg: TestCgroup, command: string, args: readonly string[]): GatedProcess {
  const child = cg.spawn('sh', ['-c', 'read go; exec "$@"', 'sh', command, ...args], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${command}`);
  return {
    child,
    pid,
    async go() {
      const exited = once(child, 'exit');
      child.stdin?.end('go\n');
      const [code] = (await exited) as [number | null];
      return code ?? -1;
    },
  };
}

/** The environment without any kubeconfig, so -o names owners by cgroup path and UID. */
export function withoutKubeconfig(): NodeJS.ProcessEnv {
  return { ...process.env, KUBECONFIG: '', HOME: '/nonexistent' };
}

/** JSON lines of a command's stdout. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
