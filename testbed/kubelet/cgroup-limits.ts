// Pod resources as cgroup settings, the way kubelet translates them: CPU requests become
// cpu.shares (cgroup v1) / cpu.weight (v2), CPU limits a CFS quota, memory limits the
// memory limit; the pod cgroup gets the sums, BestEffort pods the minimum share.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import type { TestCgroup } from '../host/cgroups.js';
import type { Hierarchy } from '../../agent/cgroups/mounts.js';
import { HarnessError } from './errors.js';
import { cpuMillis, memoryBytes } from '../../common/quantity.js';

export interface CgroupLimits {
  readonly cpuShares?: number;
  readonly cpuQuotaUs?: number;
  readonly memoryBytes?: number;
}

export interface ContainerResources {
  readonly requests?: Readonly<Record<string, string>>;
  readonly limits?: Readonly<Record<string, string>>;
}

export const cpuPeriodUs = 100_000;
/** kubelet's share for BestEffort pods and their QoS cgroup. */
export const minShares = 2;

export function containerLimits(resources: ContainerResources = {}): CgroupLimits {
  const cpuLimit = resources.limits?.cpu;
  const memoryLimit = resources.limits?.memory;
  return {
    // kubelet gives a container without a CPU request the minimum share.
    cpuShares: milliToShares(cpuMillis(resources.requests?.cpu ?? '0')),
    ...(cpuLimit !== undefined && { cpuQuotaUs: milliToQuota(cpuMillis(cpuLimit)) }),
    ...(memoryLimit !== undefined && { memoryBytes: memoryBytes(memoryLimit) }),
  };
}

/** The pod cgroup: request sums always; a limit only when every container has one. */
export function podLimits(containers: readonly ContainerResources[]): CgroupLimits {
  const sum = (pick: (r: ContainerResources) => string | undefined, parse: (q: string) => number) => {
    const values = containers.map((c) => pick(c));
    return values.every((v) => v !== undefined) ? values.reduce((total, v) => total + parse(v), 0) : undefined;
  };
  const requestMillis = containers.reduce((total, c) => total + cpuMillis(c.requests?.cpu ?? '0'), 0);
  const cpuLimit = sum((c) => c.limits?.cpu, cpuMillis);
  const memoryLimit = sum((c) => c.limits?.memory, memoryBytes);
  return {
    cpuShares: milliToShares(requestMillis),
    ...(cpuLimit !== undefined && { cpuQuotaUs: milliToQuota(cpuLimit) }),
    ...(memoryLimit !== undefined && { memoryBytes: memoryLimit }),
  };
}

export function milliToShares(millis: number): number {
  return Math.max(minShares, Math.floor((millis * 1024) / 1000));
}

export function milliToQuota(millis: number): number {
  return Math.max(1000, Math.floor((millis * cpuPeriodUs) / 1000));
}

/** cgroup v2's cpu.weight for a v1 share, as the OCI runtimes convert it. */
export function sharesToWeight(shares: number): number {
  return Math.floor(1 + ((shares - 2) * 9999) / 262142);
}

/** Writes the limits: into the unified hierarchy where it offers the controller (pure v2),
 * else into the v1 cpu and memory hierarchies (hybrid hosts). */
export function applyLimits(cgroup: TestCgroup, limits: CgroupLimits): void {
  if (limits.cpuShares !== undefined) {
    const shares = limits.cpuShares;
    writeControl(cgroup, [
      ['unified', 'cpu.weight', String(sharesToWeight(shares))],
      ['cpu', 'cpu.shares', String(shares)],
    ]);
  }
  if (limits.cpuQuotaUs !== undefined) {
    const quota = limits.cpuQuotaUs;
    writeControl(cgroup, [
      ['unified', 'cpu.max', `${quota} ${cpuPeriodUs}`],
      ['cpu', 'cpu.cfs_quota_us', String(quota)],
    ]);
  }
  if (limits.memoryBytes !== undefined) cgroup.limitMemory({ max: limits.memoryBytes });
}

/** Writes the first of the candidate control files that exists. */
function writeControl(cgroup: TestCgroup, candidates: readonly (readonly [Hierarchy, string, string])[]): void {
  for (const [hierarchy, file, value] of candidates) {
    const dir = cgroup.dirs.get(hierarchy);
    if (dir === undefined || !existsSync(join(dir, file))) continue;
    cgroup.write(file, value, hierarchy);
    return;
  }
  const files = candidates.map(([h, f]) => `${h}/${f}`).join(' or ');
  throw new HarnessError('ControllerUnavailable', `cannot set ${files}: no such control file for ${cgroup.dir()}`);
}
