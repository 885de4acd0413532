// Derived cache metrics of one cgroup over a window. Each is absent when its
// denominator is zero (nothing ran, or the counter is unavailable).
import type { CacheCounters } from './types.js';

export interface CacheMetrics {
  /** Share of LLC references that hit, 0-100. */
  readonly llcHitPercent?: number;
  /** Cycles per instruction. */
  readonly cpi?: number;
  /** LLC misses per thousand instructions. */
  readonly mpki?: number;
}

export function cacheMetrics(
  c: Pick<CacheCounters, 'llcReferences' | 'llcMisses' | 'cycles' | 'instructions'>,
): CacheMetrics {
  return {
    ...(c.llcReferences > 0
      ? { llcHitPercent: (100 * Math.max(0, c.llcReferences - c.llcMisses)) / c.llcReferences }
      : {}),
    ...(c.instructions > 0 ? { cpi: c.cycles / c.instructions, mpki: (1000 * c.llcMisses) / c.instructions } : {}),
  };
}
