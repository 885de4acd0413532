// One session's measurement on this node: ticks of per-subject counters go into the
// current window; at each window boundary the window is assessed on its own (what is
// happening now) and folded into the session so far; a window in which no neighbour used
// the CPU gives the victims' CPI baselines. Pure: time comes in as arguments.
import { z } from 'zod';

import { percentileNs } from '../probes/index.js';
import { cpi2Correlation, cpiOutlierThreshold } from '../report/correlation.js';
import {
  assessVictim,
  defaultAssessOptions,
  type AssessOptions,
  type Assessment,
  type CpuSpan,
  type IoSpan,
  type NeighbourSpan,
  type VictimSpan,
} from '../report/assess.js';
import { verdicts } from '../../crds/index.js';
import type { Resource, Verdict } from '../report/thresholds.js';
import {
  addAll,
  addByKey,
  countersFromJson,
  countersJson,
  countersToJson,
  type SubjectCounters,
} from '../measure/counters.js';
import { podKey } from '../measure/subjects.js';

/** Windows of history kept for CPI² correlation (CPI² looks back over recent samples). */
const cpiHistoryWindows = 30;
/** Neighbours kept in the session's totals. Beyond this (a node churning containers for
 * hours), those that took least from the victims are dropped: memory stays bounded and
 * only the smallest shares, below any reported aggressor, are lost. */
export const maxNeighbours = 1000;
/** A window counts as without contention (a CPI baseline sample) when all other subjects
 * together ran less than this share of one CPU. */
const quietNeighbourCpuShare = 0.05;

export interface ClosedWindow {
  readonly sequence: number;
  readonly startMs: number;
  readonly endMs: number;
  /** Per victim UID: the window alone. */
  readonly window: ReadonlyMap<string, Assessment>;
}

export interface WindowVerdict {
  readonly verdict: Verdict;
  readonly score: number;
}

export interface VictimSummary {
  readonly counters: SubjectCounters | undefined;
  readonly span: VictimSpan;
  readonly assessment: Assessment;
  readonly lastWindow: WindowVerdict | undefined;
}

export class SessionMeasure {
  private current = new Map<string, SubjectCounters>();
  private readonly total = new Map<string, SubjectCounters>();
  private readonly baselineCpi = new Map<string, number>();
  private readonly cpiHistory: Array<{ cpi: Map<string, number>; oncpu: Map<string, number> }> = [];
  private readonly lastWindow = new Map<string, WindowVerdict>();
  private windowStartMs: number;
  private coveredMs = 0;
  /** Number of the last closed window (0 before the first). */
  sequence = 0;
  windowsReported = 0;

  /**
   * Windows are numbered from 1 and aligned to `epochMs` (the NodeDiagnostic's creation):
   * window n covers [epoch + (n-1)·interval, epoch + n·interval). Measurement starts at
   * `firstStartMs`, possibly mid-window (an agent that started or restarted late), so
   * window numbers keep their meaning across agent restarts.
   */
  constructor(
    readonly intervalMs: number,
    readonly epochMs: number,
    readonly firstStartMs: number,
    private readonly enabled: ReadonlySet<Resource>,
    private readonly options: AssessOptions = defaultAssessOptions,
    /** The subject key of a victim id: a pod UID here; `crosstalk top` passes subject keys. */
    private readonly keyOf: (victimId: string) => string = podKey,
  ) {
    this.windowStartMs = firstStartMs;
  }

  add(tick: ReadonlyMap<string, SubjectCounters>): void {
    addAll(this.current, tick);
  }

  /** The end of the window in progress. */
  get windowEndMs(): number {
    return this.epochMs + this.windowNumber(this.windowStartMs) * this.intervalMs;
  }

  get windowStartedMs(): number {
    return this.windowStartMs;
  }

  private windowNumber(t: number): number {
    return Math.floor((t - this.epochMs) / this.intervalMs) + 1;
  }

  /** Closes the window in progress at `endMs` (its end, or the deadline) and assesses it. */
  closeWindow(victimUids: readonly string[], endMs: number): ClosedWindow {
    const startMs = this.windowStartMs;
    const sequence = this.windowNumber(startMs);
    const window = this.current;
    const wallNs = (endMs - startMs) * 1e6;
    const assessments = new Map<string, Assessment>();
    const cpiNow = new Map<string, number>();
    for (const uid of victimUids) {
      const key = this.keyOf(uid);
      const counters = window.get(key);
      const span = this.spanOf(key, counters, window, wallNs);
      const assessment = assessVictim(span, neighboursOf(key, window), this.options);
      assessments.set(uid, assessment);
      this.lastWindow.set(uid, { verdict: assessment.verdict, score: assessment.score });
      this.updateBaselineCpi(key, counters, window, wallNs);
      const cpi = cpiOf(counters);
      if (cpi !== undefined) cpiNow.set(key, cpi);
    }
    const oncpu = new Map([...window].map(([key, c]) => [key, c.cpu.oncpuNs]));
    this.cpiHistory.push({ cpi: cpiNow, oncpu });
    if (this.cpiHistory.length > cpiHistoryWindows) this.cpiHistory.shift();
    addAll(this.total, window);
    this.compact(new Set(victimUids.map(this.keyOf)));
    this.current = new Map();
    this.coveredMs += endMs - startMs;
    this.windowStartMs = endMs;
    this.sequence = sequence;
    this.windowsReported++;
    return { sequence, startMs, endMs, window: assessments };
  }

  /** The victim over every window reported so far. */
  summary(uid: string): VictimSummary {
    const key = this.keyOf(uid);
    const counters = this.total.get(key);
    const span = this.spanOf(key, counters, this.total, this.coveredMs * 1e6);
    return {
      counters,
      span,
      assessment: assessVictim(span, neighboursOf(key, this.total), this.options),
      lastWindow: this.lastWindow.get(uid),
    };
  }

  /** Subjects (victims and neighbours) in the session's totals. */
  get subjects(): number {
    return this.total.size;
  }

  get coveredWallNs(): number {
    return this.coveredMs * 1e6;
  }

  /** What survives an agent restart (written after each status write): the session so
   * far and the baselines. The window in progress and the CPI history start afresh. */
  snapshot(): MeasureSnapshot {
    return {
      intervalMs: this.intervalMs,
      epochMs: this.epochMs,
      firstStartMs: this.firstStartMs,
      coveredMs: this.coveredMs,
      sequence: this.sequence,
      windowsReported: this.windowsReported,
      total: [...this.total].map(([key, c]) => [key, countersToJson(c)]),
      baselineCpi: [...this.baselineCpi],
      lastWindow: [...this.lastWindow],
    };
  }

  /** Continues a snapshot's session: the next window starts at `nowMs`. */
  static restore(
    s: MeasureSnapshot,
    enabled: ReadonlySet<Resource>,
    nowMs: number,
    options: AssessOptions = defaultAssessOptions,
  ): SessionMeasure {
    const m = new SessionMeasure(s.intervalMs, s.epochMs, s.firstStartMs, enabled, options);
    m.windowStartMs = Math.max(nowMs, s.firstStartMs);
    m.coveredMs = s.coveredMs;
    m.sequence = s.sequence;
    m.windowsReported = s.windowsReported;
    for (const [key, c] of s.total) m.total.set(key, countersFromJson(c));
    for (const [key, v] of s.baselineCpi) m.baselineCpi.set(key, v);
    for (const [uid, v] of s.lastWindow) m.lastWindow.set(uid, v);
    return m;
  }

  /** Keeps the victims and the `maxNeighbours` neighbours that took most from them: each
   * neighbour weighs its shares of the victims' CPU wait and IO delay plus its share of
   * the memory all neighbours held beyond their requests. */
  private compact(victims: ReadonlySet<string>): void {
    if (this.total.size - victims.size <= maxNeighbours) return;
    const cpu = new Map<string, number>();
    const io = new Map<string, number>();
    const memory = new Map<string, number>();
    for (const [key, c] of this.total) {
      if (victims.has(key)) {
        addByKey(cpu, c.cpu.waitBy);
        addByKey(io, c.io.delayBy);
        continue;
      }
      memory.set(key, averageOverRequest(c));
    }
    const weight = new Map<string, number>();
    for (const amounts of [cpu, io, memory]) {
      const sum = [...amounts.values()].reduce((a, b) => a + b, 0);
      if (sum > 0) for (const [key, x] of amounts) weight.set(key, (weight.get(key) ?? 0) + x / sum);
    }
    const neighbours = [...this.total.keys()].filter((key) => !victims.has(key));
    neighbours.sort((a, b) => (weight.get(b) ?? 0) - (weight.get(a) ?? 0));
    for (const key of neighbours.slice(maxNeighbours)) this.total.delete(key);
    for (const v of victims) {
      const victim = this.total.get(v);
      for (const byHolder of victim ? [victim.cpu.waitBy, victim.cpu.writebackBy, victim.io.delayBy] : [])
        for (const key of [...byHolder.keys()]) if (!this.total.has(key)) byHolder.delete(key);
    }
  }

  private spanOf(
    key: string,
    c: SubjectCounters | undefined,
    all: ReadonlyMap<string, SubjectCounters>,
    wallNs: number,
  ): VictimSpan {
    if (!c) return { wallNs };
    const cpi = cpiOf(c);
    const baselineCpi = this.baselineCpi.get(key);
    return {
      wallNs,
      ...(this.enabled.has('cpu') ? { cpu: cpuSpanOf(key, c) } : {}),
      ...(this.enabled.has('io') ? { io: ioSpanOf(key, c) } : {}),
      ...(this.enabled.has('memory')
        ? {
            memory: {
              directReclaimNs: c.memory.direct.stallNs,
              memcgReclaimNs: c.memory.memcg.stallNs,
              ownLimitHits: c.files.memoryLimitHits,
            },
          }
        : {}),
      ...(this.enabled.has('cache') && cpi !== undefined
        ? { cache: { cpi, baselineCpi, correlationByNeighbour: this.correlations(key, all) } }
        : {}),
    };
  }

  private correlations(victimKey: string, all: ReadonlyMap<string, SubjectCounters>): Map<string, number> {
    const series = this.cpiHistory.filter((h) => h.cpi.has(victimKey));
    const cpi = series.map((h) => h.cpi.get(victimKey)!);
    const threshold = cpiOutlierThreshold(cpi);
    const out = new Map<string, number>();
    for (const key of all.keys()) {
      if (key === victimKey) continue;
      const usage = series.map((h) => h.oncpu.get(key) ?? 0);
      out.set(key, cpi2Correlation(cpi, usage, threshold));
    }
    return out;
  }

  /** The victim's CPI in a window where no neighbour ran to speak of is its CPI without
   * contention: the lowest such window is the baseline (never a contended window). */
  private updateBaselineCpi(
    key: string,
    c: SubjectCounters | undefined,
    window: ReadonlyMap<string, SubjectCounters>,
    wallNs: number,
  ): void {
    const cpi = cpiOf(c);
    if (cpi === undefined || wallNs <= 0) return;
    let othersNs = 0;
    for (const [other, counters] of window) if (other !== key) othersNs += counters.cpu.oncpuNs;
    if (othersNs > quietNeighbourCpuShare * wallNs) return;
    const best = this.baselineCpi.get(key);
    if (best === undefined || cpi < best) this.baselineCpi.set(key, cpi);
  }
}

export const measureSnapshotJson = z.object({
  intervalMs: z.number().positive(),
  epochMs: z.number(),
  firstStartMs: z.number(),
  coveredMs: z.number().nonnegative(),
  sequence: z.int().nonnegative(),
  windowsReported: z.int().nonnegative(),
  total: z.array(z.tuple([z.string(), countersJson])),
  baselineCpi: z.array(z.tuple([z.string(), z.number()])),
  lastWindow: z.array(z.tuple([z.string(), z.object({ verdict: z.enum(verdicts), score: z.number() })])),
});
export type MeasureSnapshot = z.output<typeof measureSnapshotJson>;

function cpiOf(c: SubjectCounters | undefined): number | undefined {
  return c && c.cache.instructions > 0 && c.cache.cycles > 0 ? c.cache.cycles / c.cache.instructions : undefined;
}

/** Holders other than the victim itself. */
function others<T>(key: string, byHolder: ReadonlyMap<string, T>): Map<string, T> {
  return new Map([...byHolder].filter(([holder]) => holder !== key));
}

/** The victim's run-queue figures: waits behind its own tasks and on an idle CPU are
 * nobody's doing. */
export function cpuSpanOf(key: string, c: SubjectCounters): CpuSpan {
  return {
    waitNs: Math.max(0, c.cpu.waitNs - c.cpu.idleWaitNs - (c.cpu.waitBy.get(key) ?? 0)),
    runNs: c.cpu.oncpuNs,
    throttledNs: c.files.throttledNs,
    p99WaitNs: percentileNs(c.cpu.waitHistogram, 0.99),
    waitByNeighbour: others(key, c.cpu.waitBy),
    writebackByNeighbour: others(key, c.cpu.writebackBy),
  };
}

/** The victim's IO figures: its own other requests beside it are no one else's doing. */
export function ioSpanOf(key: string, c: SubjectCounters): IoSpan {
  return {
    ops: c.io.completed,
    p99Ns: percentileNs(c.io.latencyHistogram, 0.99),
    requestNs: c.io.requestNs,
    delayedNs: Math.max(0, c.io.delayedNs - (c.io.delayBy.get(key) ?? 0)),
    delayByNeighbour: others(key, c.io.delayBy),
    disks: [...c.io.byDisk.keys()],
  };
}

/** The share of what the victim wanted that others took: CPU, the wait behind them in its
 * wanted CPU time; IO, the time beside their requests in its IO time. */
export function lossShare(resource: 'cpu' | 'io', key: string, c: SubjectCounters | undefined): number {
  if (!c) return 0;
  if (resource === 'cpu') {
    const { waitNs, runNs } = cpuSpanOf(key, c);
    return waitNs + runNs > 0 ? waitNs / (waitNs + runNs) : 0;
  }
  const { delayedNs, requestNs } = ioSpanOf(key, c);
  return requestNs > 0 ? Math.min(1, delayedNs / requestNs) : 0;
}

function averageOverRequest(c: SubjectCounters): number {
  return c.files.memorySamples > 0 ? c.files.memoryOverRequestSum / c.files.memorySamples : 0;
}

function neighboursOf(victimKey: string, all: ReadonlyMap<string, SubjectCounters>): Map<string, NeighbourSpan> {
  const out = new Map<string, NeighbourSpan>();
  for (const [key, c] of all) {
    if (key === victimKey) continue;
    out.set(key, {
      ref: c.ref,
      ioByDisk: c.io.byDisk,
      memoryOverRequestBytes: averageOverRequest(c),
      memoryGrowthBytes: c.files.memoryGrowthBytes,
    });
  }
  return out;
}
