// Scratch cgroups for tests and the node harness: created beneath this process's own
// cgroup in each hierarchy (never elsewhere), processes started inside them, and
// everything killed and removed afterwards. Nothing is ever moved out of its cgroup.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { errorCode } from '../../common/errors.js';
import { readCgroupMounts, readProcCgroup, type Hierarchy } from '../../agent/cgroups/mounts.js';

/** The hierarchies a kubelet-like placement uses on this machine: unified, plus the v1
 * cpu, memory and blkio ones where they are mounted (hybrid hosts). */
export function placementHierarchies(): Hierarchy[] {
  const { mountPoints } = readCgroupMounts();
  return (['unified', 'cpu', 'memory', 'blkio'] as const).filter((h) => mountPoints.has(h));
}

/** Controllers a kubelet enables for pods on a pure cgroup-v2 node. */
const podControllers = ['cpu', 'io', 'memory', 'cpuset', 'pids'];

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
      const base = join(mount, own.get(h) ?? '/');
      const dir = join(base, relPath);
      mkdirSync(dir, { recursive: true });
      if (h === 'unified') delegateControllers(base, relPath);
      dirs.set(h, dir);
    }
    return new TestCgroup(dirs);
  }

  dir(h: Hierarchy = 'unified'): string {
    const dir = this.dirs.get(h);
    if (!dir) throw new Error(`test cgroup has no ${h} directory`);
    return dir;
  }

  /** Reads a control file, e.g. `cpu.stat` or `memory.pressure`. */
  read(file: string, h: Hierarchy = 'unified'): string {
    return readFileSync(join(this.dir(h), file), 'utf8');
  }

  /** Writes a control file, e.g. `cpu.max`. */
  write(file: string, value: string, h: Hierarchy = 'unified'): void {
    writeFileSync(join(this.dir(h), file), value);
  }

  /** Caps the cgroup's memory: memory.max (and memory.high, pure v2 only) where the
   * unified hierarchy has the memory controller, else the v1 memory.limit_in_bytes. */
  limitMemory(limit: { max?: number; high?: number }): void {
    const unified = this.dirs.get('unified');
    if (unified && existsSync(join(unified, 'memory.max'))) {
      if (limit.high !== undefined) this.write('memory.high', String(limit.high));
      if (limit.max !== undefined) this.write('memory.max', String(limit.max));
      return;
    }
    if (limit.high !== undefined) throw new Error('memory.high needs the memory controller on cgroup v2');
    if (limit.max !== undefined) this.write('memory.limit_in_bytes', String(limit.max), 'memory');
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

  /** Sends `signal` (SIGKILL unless told) to every process in this cgroup and its
   * descendants without waiting (exit handlers cannot wait); returns how many there were. */
  killAll(signal: NodeJS.Signals = 'SIGKILL'): number {
    const pids = [...this.dirs.values()].flatMap(treePids);
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
    return pids.length;
  }

  /** Kills every process inside, descendants included, and removes the directories
   * (children first). */
  async remove(): Promise<void> {
    for (let attempt = 0; attempt < 100 && this.killAll() > 0; attempt++) await sleep(20);
    for (const dir of this.dirs.values()) await removeTree(dir);
  }
}

/** On a unified hierarchy with controllers (pure v2), enables the pod controllers in
 * every cgroup from `base` down to the parent of `relPath`, as kubelet does for its
 * slices; where none are offered (the hybrid host's bare cgroup2 mount) there is nothing
 * to do. `base` must hold no processes of its own (cgroup v2's no-internal-process rule),
 * which holds at the root, where the VM lane runs its tests. */
function delegateControllers(base: string, relPath: string): void {
  const parents = relPath.split('/').filter(Boolean).slice(0, -1);
  let dir = base;
  for (const next of [undefined, ...parents]) {
    if (next !== undefined) dir = join(dir, next);
    const offered = readFileSync(join(dir, 'cgroup.controllers'), 'utf8').split(/\s+/);
    const enabled = readFileSync(join(dir, 'cgroup.subtree_control'), 'utf8').split(/\s+/);
    const wanted = podControllers.filter((c) => offered.includes(c) && !enabled.includes(c));
    if (wanted.length === 0) continue;
    try {
      writeFileSync(join(dir, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
    } catch (err) {
      throw new Error(`cannot enable ${wanted.join(', ')} in ${dir} (does it hold processes?)`, { cause: err });
    }
  }
}

function treePids(dir: string): number[] {
  try {
    const pids = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    for (const entry of readdirSync(dir, { withFileTypes: true }))
      if (entry.isDirectory()) pids.push(...treePids(join(dir, entry.name)));
    return pids;
  } catch {
    return []; // removed meanwhile
  }
}

async function removeTree(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  // cgroupfs lists control files too; only subdirectories are child cgroups.
  for (const entry of readdirSync(dir, { withFileTypes: true }))
    if (entry.isDirectory()) await removeTree(join(dir, entry.name));
  // A killed process leaves cgroup.procs at once but keeps its cgroup populated (EBUSY)
  // until Node has reaped it, which needs the event loop: wait for that, briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      if (errorCode(err) !== 'EBUSY' || attempt >= 250) throw err;
      await sleep(20);
    }
  }
}
