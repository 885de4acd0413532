// Tests that need root or a kernel feature skip with a printed reason on a developer's
// machine; CI sets CROSSTALK_REQUIRE_ALL=1 so that the same skip fails instead.
import { accessSync, constants } from 'node:fs';

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
