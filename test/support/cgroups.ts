// Scratch cgroups for tests and the node harness: created beneath this process's own
// cgroup in each hierarchy (never elsewhere), processes started inside them, and
// everything killed and removed afterwards. Nothing is ever moved out of its cgroup.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { readCgroupMounts, readProcCgroup, type Hierarchy } from '../../agent/cgroups/mounts.js';

/** The hierarchies a kubelet-like placement uses on this machine: unified, plus the v1
 * cpu, memory and blkio ones where they are mounted (hybrid hosts). */
export function placementHierarchies(): Hierarchy[] {
  const { mountPoints } = readCgroupMounts();
  return (['unified', 'cpu', 'memory', 'blkio'] as const).filter((h) => mountPoints.has(h));
}

export class TestCgroup {
  private constructor(
    /** Directory of this cgroup in each hierarchy. */
    readonly dirs: ReadonlyMap<Hierarchy, string>,
  ) {}

  /** Creates `relPath` (which may be nested, e.g. `run/kubepods.slice/pod.slice`)
   * beneath this process's own cgroup in each hierarchy. */
  static create(relPath: string, hierarchies: readonly Hierarchy[] = placementHierarchies()): TestCgroup {
    const { mountPoints } = readCgroupMounts();
    const own = readProcCgroup();
    const dirs = new Map<Hierarchy, string>();
    for (const h of hierarchies) {
      const mount = mountPoints.get(h);
      if (!mount) throw new Error(`cgroup hierarchy ${h} is not mounted`);
      const dir = join(mount, own.get(h) ?? '/', relPath);
      mkdirSync(dir, { recursive: true });
      dirs.set(h, dir);
    }
    return new TestCgroup(dirs);
  }

  dir(h: Hierarchy = 'unified'): string {
    const dir = this.dirs.get(h);
    if (!dir) throw new Error(`test cgroup has no ${h} directory`);
    return dir;
  }

  /** The kernel's id of this cgroup in a hierarchy: its directory's inode number. */
  id(h: Hierarchy = 'unified'): bigint {
    return statSync(this.dir(h), { bigint: true }).ino;
  }

  /** Starts a command whose process joins this cgroup in every hierarchy before exec. */
  spawn(command: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
    const procs = [...this.dirs.values()].map((d) => join(d, 'cgroup.procs')).join(' ');
    const script = 'for p in $CT_CGROUP_PROCS; do echo $$ > "$p" || exit 126; done; exec "$@"';
    return spawn('sh', ['-c', script, 'sh', command, ...args], {
      stdio: 'ignore',
      ...options,
      env: { ...process.env, ...options.env, CT_CGROUP_PROCS: procs },
    });
  }

  /** Runs a command inside the cgroup and resolves with its exit code. */
  run(command: string, args: readonly string[] = [], options: SpawnOptions = {}): Promise<number> {
    return new Promise((resolve, reject) => {
      const child = this.spawn(command, args, options);
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
  }

  pids(): number[] {
    const pids = new Set<number>();
    for (const dir of this.dirs.values()) {
      if (!existsSync(dir)) continue;
      for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.add(Number(line));
    }
    return [...pids];
  }

  /** Kills every process inside and removes the directories (children first). */
  async remove(): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const pids = this.pids();
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await sleep(20);
    }
    for (const dir of this.dirs.values()) removeTree(dir);
  }
}

function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  // cgroupfs lists control files too; only subdirectories are child cgroups.
  for (const entry of readdirSync(dir, { withFileTypes: true }))
    if (entry.isDirectory()) removeTree(join(dir, entry.name));
  rmdirSync(dir);
}
