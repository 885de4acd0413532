// Parsing a NodeDiagnostic's status or spec costs more than everything else a reconcile
// does with it; the informers hand out a new object for every change, so a parse result
// can be kept per object and reused until the object is replaced.
import type { z } from 'zod';

export function memoizedSafeParse<T>(schema: z.ZodType<T>): (raw: unknown) => z.ZodSafeParseResult<T> {
  const cache = new WeakMap<object, z.ZodSafeParseResult<T>>();
  return (raw) => {
    if (typeof raw !== 'object' || raw === null) return schema.safeParse(raw);
    let result = cache.get(raw);
    if (!result) {
      result = schema.safeParse(raw);
      cache.set(raw, result);
    }
    return result;
  };
}
