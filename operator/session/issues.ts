// Why a spec or status written by someone else does not parse, as people read it in a
// condition: each problem with the field it is about (`status.pods[0].score: ...`).
import type { z } from 'zod';

/** The first `max` issues of `error`, each prefixed with its path under `root`; more are counted. */
export function describeIssues(root: string, error: z.ZodError, max = Infinity): string[] {
  const described = error.issues.slice(0, max).map((i) => `${fieldPath(root, i.path)}: ${i.message}`);
  const more = error.issues.length - described.length;
  return more > 0 ? [...described, `${more} more`] : described;
}

function fieldPath(root: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>((p, k) => (typeof k === 'number' ? `${p}[${k}]` : `${p}.${String(k)}`), root);
}
