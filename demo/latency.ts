// The victim's own view: its latency probe's per-second reports, read from the container
// log as they arrive, and summarised before and after the aggressor started.
import { readFileSync } from 'node:fs';

import { parseLatencyReports, type LatencyReport } from '../testbed/workloads/latency-probe.js';

/** Reads the reports complete so far from a log the probe is still appending to. */
export function readLatencyReports(logFile: string): LatencyReport[] {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return [];
  }
  // A line still being written is left for the next read.
  return parseLatencyReports(text.slice(0, text.lastIndexOf('\n') + 1));
}

export interface LatencySummary {
  /** Per-second reports summarised. */
  readonly seconds: number;
  /** Medians of the per-second p50 and p99, microseconds. */
  readonly p50Us: number;
  readonly p99Us: number;
}

export interface LatencyComparison {
  readonly before?: LatencySummary;
  readonly after?: LatencySummary;
}

/** Splits the reports at the aggressor's start (Unix seconds): `before` from `fromTs` on,
 * `after` from the first full second with the aggressor on. A report covers the second
 * that ends at its `ts`. */
export function compareLatency(reports: readonly LatencyReport[], fromTs: number, splitTs: number): LatencyComparison {
  const before = summarise(reports.filter((r) => r.ts - 1 >= fromTs && r.ts <= splitTs));
  const after = summarise(reports.filter((r) => r.ts - 1 >= splitTs));
  return { ...(before && { before }), ...(after && { after }) };
}

export function summarise(reports: readonly LatencyReport[]): LatencySummary | undefined {
  if (reports.length === 0) return undefined;
  return {
    seconds: reports.length,
    p50Us: median(reports.map((r) => r.p50_us)),
    p99Us: median(reports.map((r) => r.p99_us)),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
