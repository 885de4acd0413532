// Cumulative figures the kernel keeps in cgroup control files, which the probes do not
// see: CPU quota throttling, memory in use, how often a memory limit was hit. Read the
// same way on cgroup v2 (unified) and v1 (cpu / memory hierarchies).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { CgroupMounts, Hierarchy } from './mounts.js';

export interface CgroupFigures {
  /** Time throttled by this cgroup's own CPU quota, ns (cpu.stat). */
  readonly throttledNs: number | undefined;
  /** Memory charged to the cgroup (and its descendants), bytes. */
  readonly memoryBytes: number | undefined;
  /** Times this cgroup itself ran into its own memory limit, descendants not counted
   * (v2 memory.events.local high + max; v1 memory.failcnt). */
  readonly memoryLimitHits: number | undefined;
}

/** Parses `key value` lines (cpu.stat, memory.events, memory.stat). */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^\d+$/.test(value)) out.set(key, Number(value));
  }
  return out;
}

/** Reads the figures of one cgroup, given its path in each hierarchy (relative to the
 * hierarchy's root: on v1 hosts the same cgroup can sit at different paths, e.g. beneath
 * a memory cgroup of its own). A file that cannot be read (cgroup gone, controller
 * absent) leaves its figure undefined. */
export function readCgroupFigures(
  mounts: CgroupMounts,
  paths: ReadonlyMap<Hierarchy, string>,
  read: (file: string) => string = (f) => readFileSync(f, 'utf8'),
): CgroupFigures {
  const at = (h: Hierarchy, file: string): string | undefined => {
    const mount = mounts.mountPoints.get(h);
    const path = paths.get(h);
    if (!mount || path === undefined) return undefined;
    try {
      return read(join(mount, path, file));
    } catch {
      return undefined;
    }
  };
  const v2 = (controller: string) => mounts.unifiedControllers.includes(controller);

  let throttledNs: number | undefined;
  const cpuStat = v2('cpu') ? at('unified', 'cpu.stat') : at('cpu', 'cpu.stat');
  if (cpuStat !== undefined) {
    const stat = parseFlatKeyed(cpuStat);
    const usec = stat.get('throttled_usec');
    throttledNs = usec !== undefined ? usec * 1000 : stat.get('throttled_time');
  }

  let memoryBytes: number | undefined;
  let memoryLimitHits: number | undefined;
  if (v2('memory')) {
    memoryBytes = numberIn(at('unified', 'memory.current'));
    const events = at('unified', 'memory.events.local');
    if (events !== undefined) {
      const e = parseFlatKeyed(events);
      memoryLimitHits = (e.get('high') ?? 0) + (e.get('max') ?? 0);
    }
  } else {
    memoryBytes = numberIn(at('memory', 'memory.usage_in_bytes'));
    memoryLimitHits = numberIn(at('memory', 'memory.failcnt'));
  }
  return { throttledNs, memoryBytes, memoryLimitHits };
}

function numberIn(text: string | undefined): number | undefined {
  const n = text === undefined ? NaN : Number(text.trim());
  return Number.isFinite(n) ? n : undefined;
}
