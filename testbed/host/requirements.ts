// Tests that need root or a kernel feature skip with a printed reason on a developer's
// machine; CI sets CROSSTALK_REQUIRE_ALL=1 so that the same skip fails instead.
import { accessSync, constants } from 'node:fs';

import { readCgroupMounts } from '../../agent/cgroups/mounts.js';

export const requireAll = process.env.CROSSTALK_REQUIRE_ALL === '1';

/** Skips the current test or hook (or fails it under CROSSTALK_REQUIRE_ALL=1) when `missing` is set. */
export function requireOrSkip(ctx: Mocha.Context, missing: string | undefined): void {
  if (missing === undefined) return;
  if (requireAll) throw new Error(`required but unavailable (CROSSTALK_REQUIRE_ALL=1): ${missing}`);
  console.log(`      skipped: ${missing}`);
  ctx.skip();
}

export function missingRoot(): string | undefined {
  return process.getuid?.() === 0 ? undefined : 'needs root (eBPF and cgroup creation)';
}

export function missingBpf(): string | undefined {
  const root = missingRoot();
  if (root) return root;
  try {
    accessSync('/sys/kernel/btf/vmlinux', constants.R_OK);
  } catch {
    return 'needs kernel BTF at /sys/kernel/btf/vmlinux';
  }
  return undefined;
}

/** Pure cgroup v2 with the controllers a kubelet delegates (the VM lane's guest). */
export function missingPureCgroupV2(): string | undefined {
  const root = missingRoot();
  if (root) return root;
  const { mountPoints, unifiedControllers } = readCgroupMounts();
  const v1 = [...mountPoints.keys()].filter((h) => h !== 'unified');
  if (v1.length > 0)
    return `needs a pure cgroup-v2 node (v1 hierarchies mounted: ${v1.join(', ')}); run npm run test:vm`;
  const missing = ['cpu', 'io', 'memory', 'cpuset', 'pids'].filter((c) => !unifiedControllers.includes(c));
  if (missing.length > 0) return `needs the cgroup v2 controllers ${missing.join(', ')}; run npm run test:vm`;
  return undefined;
}
