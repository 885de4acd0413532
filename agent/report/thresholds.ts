// The verdict thresholds, in one place: what harm to each resource counts as a Low,
// Medium or High interference verdict. docs/architecture.md "Verdicts" documents the same
// table; the e2e scenarios (known ground truth) are what they were tuned against.

import type { Resource, Verdict } from '../../crds/index.js';

export type { Resource, Verdict } from '../../crds/index.js';

export interface Thresholds {
  /** The value that means no degradation at all: 0 for shares, 1 for ratios. */
  readonly none: number;
  readonly low: number;
  readonly medium: number;
  readonly high: number;
}

/** Harm measures, each documented where it is computed (assess.ts). */
export const thresholds: Readonly<Record<Resource, Thresholds>> = {
  // Share of the time the victim wanted a CPU that it spent waiting while others held it.
  cpu: { none: 0, low: 0.05, medium: 0.15, high: 0.3 },
  // Share of the victim's IO time its requests were in flight beside others' on the device.
  io: { none: 0, low: 0.2, medium: 0.4, high: 0.6 },
  // Share of wall time the victim's tasks spent stalled in memory reclaim.
  memory: { none: 0, low: 0.01, medium: 0.05, high: 0.15 },
  // Cycles per instruction over the victim's own quiet baseline (ratio).
  cache: { none: 1, low: 1.2, medium: 1.5, high: 2 },
};

/** The size of single run-queue waits, as a share of the session's runqLatencyThreshold:
 * a CPU verdict needs waits that matter as well as a share of time lost. */
const waitSize: Thresholds = { none: 0, low: 0.1, medium: 0.3, high: 1 };

/** Score of single waits of p99WaitNs against the threshold (100 at twice it). */
export function waitSizeScore(p99WaitNs: number, thresholdNs: number): number {
  return scoreOn(waitSize, thresholdNs > 0 ? p99WaitNs / thresholdNs : 0);
}

/** Below this many IOs in a span, a p99 says nothing and the io resource is not scored. */
export const minIoOpsForP99 = 20;
/** A victim whose requests spent less than this each, on average, beside others' is not
 * harmed: on a fast device, overlap within its own service time is no queueing. A p99
 * floor is no such test: 4 KiB virtio reads here keep a 256 µs p99 in the block layer
 * beside a writeback flood while their rate falls from 12.4k to 4.5k IOPS, 70-85 µs of
 * each request beside the flushers' writes (fio; e2e scenario "IO (writeback)"). */
export const ioJitterNs = 50e3;
/** Aggressors below this share of a victim's loss are not named. */
export const minAggressorShare = 0.05;

/** Maps a degradation onto 0-100, piecewise linear: 0 at none, 25 at Low, 50 at Medium,
 * 75 at High, 100 at twice High's distance from none. */
export function scoreOf(resource: Resource, degradation: number): number {
  return scoreOn(thresholds[resource], degradation);
}

function scoreOn(t: Thresholds, degradation: number): number {
  const points: Array<[number, number]> = [
    [t.none, 0],
    [t.low, 25],
    [t.medium, 50],
    [t.high, 75],
    [t.none + 2 * (t.high - t.none), 100],
  ];
  if (!(degradation > t.none)) return 0;
  for (let i = 1; i < points.length; i++) {
    const [x1, y1] = points[i]!;
    const [x0, y0] = points[i - 1]!;
    if (degradation <= x1) return Math.round(y0 + ((degradation - x0) / (x1 - x0)) * (y1 - y0));
  }
  return 100;
}

export function verdictOf(score: number): Verdict {
  if (score >= 75) return 'High';
  if (score >= 50) return 'Medium';
  if (score >= 25) return 'Low';
  return 'None';
}
