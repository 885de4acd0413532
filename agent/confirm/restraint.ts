// Restraining a suspect pod for a confirmation, and undoing it on every path. A restraint
// is a few cgroup files written at the pod's level (its containers inherit the limit):
// CPU, a quota (cpu.max on cgroup v2, cpu.cfs_quota_us on v1); IO, a bandwidth cap on
// one disk (io.max on v2, blkio.throttle.*_bps_device on v1). A restraint is planned when
// the experiment starts but the previous values are read only when it is applied (they
// may change in between); they go to a journal in the state directory before anything
// is written, so that a restarted agent puts them back first, even after SIGKILL.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

import { CodedError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { CgroupMounts, Hierarchy } from '../cgroups/mounts.js';
import type { BlockDevice } from '../probes/index.js';

/** A file to write, with what puts it back. */
const fileChange = z.object({ path: z.string(), apply: z.string(), restore: z.string() });
const journalSchema = z.object({ podUid: z.string(), what: z.string(), files: z.array(fileChange) });
/** A restraint as applied and journaled. */
export type Restraint = z.output<typeof journalSchema>;

/** A restraint to apply: each file, what to write, and how to find in the file's text at
 * that moment the value that puts it back. */
export interface RestraintPlan {
  readonly podUid: string;
  readonly what: string;
  readonly files: readonly { path: string; apply: string; previous: (text: string) => string }[];
}

export class RestraintError extends CodedError<'RestraintFailed' | 'NoCgroup'> {}

const cpuPeriodUs = 100_000;

/** Where a pod's cgroup lives in each hierarchy (pod level, not a container's). */
export type PodCgroupPaths = ReadonlyMap<Hierarchy, string>;

/** Where each of its containers' cgroups lives in the v1 blkio hierarchy. */
export type ContainerBlkioPaths = readonly string[];

/** The files a CPU quota of `millicores` writes for the pod. */
export function cpuRestraint(
  mounts: CgroupMounts,
  podUid: string,
  paths: PodCgroupPaths,
  millicores: number,
): RestraintPlan {
  const unified = v2Dir(mounts, paths, 'cpu');
  if (unified) {
    const quota = Math.round((millicores * cpuPeriodUs) / 1000);
    return {
      podUid,
      what: `cpu.max ${quota} ${cpuPeriodUs} (${millicores}m)`,
      files: [{ path: join(unified, 'cpu.max'), apply: `${quota} ${cpuPeriodUs}`, previous: (t) => t.trim() }],
    };
  }
  const dir = v1Dir(mounts, paths, 'cpu');
  const period = Number(readText(join(dir, 'cpu.cfs_period_us')).trim());
  const quota = Math.round((millicores * period) / 1000);
  return {
    podUid,
    what: `cpu.cfs_quota_us ${quota} of ${period} (${millicores}m)`,
    files: [{ path: join(dir, 'cpu.cfs_quota_us'), apply: String(quota), previous: (t) => t.trim() }],
  };
}

/** The files a read and write cap of `bytesPerSecond` on `disk` writes for the pod. */
export function ioRestraint(
  mounts: CgroupMounts,
  podUid: string,
  paths: PodCgroupPaths,
  containers: ContainerBlkioPaths,
  disk: BlockDevice,
  bytesPerSecond: number,
): RestraintPlan {
  const dev = `${disk.major}:${disk.minor}`;
  const unified = v2Dir(mounts, paths, 'io');
  if (unified) {
    return {
      podUid,
      what: `io.max ${dev} rbps=${bytesPerSecond} wbps=${bytesPerSecond}`,
      files: [
        {
          path: join(unified, 'io.max'),
          apply: `${dev} rbps=${bytesPerSecond} wbps=${bytesPerSecond}`,
          // A device without a line of its own has no limit: putting "max" back removes it.
          previous: (t) => lineOf(t, dev) ?? `${dev} rbps=max wbps=max riops=max wiops=max`,
        },
      ],
    };
  }
  // v1 blk-throttle is not hierarchical: each container's cgroup gets the cap.
  const root = mounts.mountPoints.get('blkio');
  if (!root || containers.length === 0)
    throw new RestraintError('NoCgroup', 'the pod has no container cgroup in the blkio hierarchy on this node');
  const files = containers.flatMap((container) =>
    ['blkio.throttle.read_bps_device', 'blkio.throttle.write_bps_device'].map((name) => ({
      path: join(root, container, name),
      apply: `${dev} ${bytesPerSecond}`,
      // "<dev> 0" removes a v1 throttle rule.
      previous: (t: string) => lineOf(t, dev) ?? `${dev} 0`,
    })),
  );
  return { podUid, what: `blkio throttle ${dev} ${bytesPerSecond} B/s read and write`, files };
}

/** Applies restraints and puts them back, journaled in `dir`. */
export class RestraintJournal {
  constructor(
    private readonly dir: string,
    private readonly log: Logger,
    private readonly write: (file: string, text: string) => void = (file, text) => writeFileSync(file, text),
  ) {
    mkdirSync(dir, { recursive: true });
  }

  /** Reads the previous values, journals them, then writes; a failed write is undone at
   * once. Returns what was journaled. */
  apply(plan: RestraintPlan): Restraint {
    const r: Restraint = {
      podUid: plan.podUid,
      what: plan.what,
      files: plan.files.map((f) => ({ path: f.path, apply: f.apply, restore: f.previous(readText(f.path)) })),
    };
    const journal = this.file(r.podUid);
    writeFileSync(`${journal}.tmp`, JSON.stringify(r));
    renameSync(`${journal}.tmp`, journal);
    const done: Restraint['files'] = [];
    try {
      for (const f of r.files) {
        this.write(f.path, f.apply);
        done.push(f);
      }
    } catch (err) {
      this.restoreFiles({ ...r, files: done });
      rmSync(journal, { force: true });
      throw new RestraintError('RestraintFailed', `cannot restrain pod ${r.podUid} (${r.what})`, { cause: err });
    }
    return r;
  }

  /** Puts the previous values back and forgets the journal entry. */
  restore(podUid: string): void {
    const journal = this.file(podUid);
    const r = this.read(journal);
    if (r) this.restoreFiles(r);
    rmSync(journal, { force: true });
  }

  /** Every restraint a previous run left behind (it was killed mid-experiment), restored. */
  restoreLeftovers(): number {
    if (!existsSync(this.dir)) return 0;
    let restored = 0;
    for (const name of readdirSync(this.dir).filter((n) => n.endsWith('.json'))) {
      const r = this.read(join(this.dir, name));
      if (r) {
        this.restoreFiles(r);
        this.log.warn('restored a restraint left by a previous run', { pod: r.podUid, restraint: r.what });
        restored++;
      }
      rmSync(join(this.dir, name), { force: true });
    }
    return restored;
  }

  /** Pods under a restraint now (journaled). */
  active(): string[] {
    return readdirSync(this.dir)
      .filter((n) => n.endsWith('.json'))
      .map((n) => this.read(join(this.dir, n))?.podUid)
      .filter((uid): uid is string => uid !== undefined);
  }

  private restoreFiles(r: Restraint): void {
    for (const f of [...r.files].reverse()) {
      try {
        this.write(f.path, f.restore);
      } catch (err) {
        // The pod (and its cgroup) may be gone: nothing is left to restore then.
        if (existsSync(f.path)) this.log.error('cannot restore a restraint', { err, file: f.path, value: f.restore });
      }
    }
  }

  private read(file: string): Restraint | undefined {
    try {
      return journalSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    } catch {
      return undefined;
    }
  }

  private file(podUid: string): string {
    return join(this.dir, `${podUid.replace(/[^A-Za-z0-9-]/g, '_')}.json`);
  }
}

/** The pod's directory on cgroup v2 when the controller is enabled there. */
function v2Dir(mounts: CgroupMounts, paths: PodCgroupPaths, controller: 'cpu' | 'io'): string | undefined {
  const root = mounts.mountPoints.get('unified');
  const path = paths.get('unified');
  return root && path !== undefined && mounts.unifiedControllers.includes(controller) ? join(root, path) : undefined;
}

function v1Dir(mounts: CgroupMounts, paths: PodCgroupPaths, hierarchy: 'cpu'): string {
  const root = mounts.mountPoints.get(hierarchy);
  const path = paths.get(hierarchy);
  if (!root || path === undefined)
    throw new RestraintError('NoCgroup', `the pod has no cgroup in the ${hierarchy} hierarchy on this node`);
  return join(root, path);
}

function lineOf(text: string, dev: string): string | undefined {
  return text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith(`${dev} `));
}

function readText(file: string): string {
  return readFileSync(file, 'utf8');
}
