// Where this machine's cgroup hierarchies are mounted and where a process sits in each,
// read from /proc (never hard-coded: hybrid hosts, pure v2 nodes and containers differ).
import { readFileSync } from 'node:fs';

/** A cgroup hierarchy: the unified (v2) one, or a v1 one named by its controllers. */
export type Hierarchy = 'unified' | 'cpu' | 'cpuacct' | 'memory' | 'blkio' | 'cpuset' | 'pids';

export interface CgroupMounts {
  /** Mount point of each hierarchy present on this machine. */
  readonly mountPoints: ReadonlyMap<Hierarchy, string>;
  /** Hierarchies with controllers in the unified tree; empty on a hybrid host. */
  readonly unifiedControllers: readonly string[];
}

const v1Hierarchies: readonly Hierarchy[] = ['cpu', 'cpuacct', 'memory', 'blkio', 'cpuset', 'pids'];

/** Parses /proc/self/mountinfo text (fields per proc(5); optional fields end at "-"). */
export function parseCgroupMounts(mountinfo: string, unifiedControllers: readonly string[] = []): CgroupMounts {
  const mountPoints = new Map<Hierarchy, string>();
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 0) continue;
    const mountPoint = unescapeOctal(fields[4] ?? '');
    const fsType = fields[dash + 1];
    const superOptions = (fields[dash + 3] ?? '').split(',');
    if (fsType === 'cgroup2') {
      mountPoints.set('unified', mountPoint);
    } else if (fsType === 'cgroup') {
      for (const h of v1Hierarchies)
        if (superOptions.includes(h) && !mountPoints.has(h)) mountPoints.set(h, mountPoint);
    }
  }
  return { mountPoints, unifiedControllers };
}

export function readCgroupMounts(): CgroupMounts {
  const mounts = parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));
  const unified = mounts.mountPoints.get('unified');
  let controllers: string[] = [];
  if (unified) {
    try {
      controllers = readFileSync(`${unified}/cgroup.controllers`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      controllers = [];
    }
  }
  return { ...mounts, unifiedControllers: controllers };
}

/** Parses /proc/<pid>/cgroup: the path of the process in each hierarchy. */
export function parseProcCgroup(text: string): Map<Hierarchy, string> {
  const paths = new Map<Hierarchy, string>();
  for (const line of text.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    const [, id, controllers = '', path = '/'] = match;
    if (id === '0' && controllers === '') paths.set('unified', path);
    for (const h of controllers.split(',')) if (v1Hierarchies.includes(h as Hierarchy)) paths.set(h as Hierarchy, path);
  }
  return paths;
}

export function readProcCgroup(pid: number | 'self' = 'self'): Map<Hierarchy, string> {
  return parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
}

function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
