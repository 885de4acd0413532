// Reading the probes' log2 latency histograms (layout in types.ts: slot 0 below 1 us,
// slot k >= 1 for [2^(k-1), 2^k) us).
import type { LatencyHistogram } from './types.js';

/** Upper bound of a slot in ns: every value counted there is below it. */
export function slotUpperBoundNs(slot: number): number {
  return 1000 * 2 ** slot;
}

/** The smallest slot upper bound below which at least fraction q (0-1] of the values
 * lie, in ns: a conservative percentile (at most 2x the true value). undefined when
 * the histogram is empty. */
export function percentileNs(histogram: LatencyHistogram, q: number): number | undefined {
  if (!(q > 0 && q <= 1)) throw new RangeError(`percentile fraction ${q} is not in (0, 1]`);
  const total = histogram.reduce((sum, n) => sum + n, 0);
  if (total === 0) return undefined;
  let seen = 0;
  for (const [slot, n] of histogram.entries()) {
    seen += n;
    if (seen >= q * total) return slotUpperBoundNs(slot);
  }
  return slotUpperBoundNs(histogram.length - 1);
}

/** Adds histograms slot by slot (e.g. the same cgroup on several disks). */
export function mergeHistograms(histograms: readonly LatencyHistogram[]): number[] {
  const out: number[] = [];
  for (const h of histograms) for (const [slot, n] of h.entries()) out[slot] = (out[slot] ?? 0) + n;
  return out;
}
