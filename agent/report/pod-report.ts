// Renders a victim's measurement over the session into the API's PodReport: the
// figures per resource, scores, verdict, self-inflicted causes and ranked aggressors.
import {
  limits,
  type Aggressor as ApiAggressor,
  type Confirmation,
  type Metrics,
  type PodReport,
  type Resource,
} from '../../crds/index.js';
import { percentileNs } from '../probes/index.js';
import type { VictimSummary } from '../windows/session-measure.js';
import type { Aggressor } from './assess.js';

export interface VictimIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly containers: readonly string[];
}

const round = (x: number, digits = 3) => Number(x.toFixed(digits));

/** The confirmation of a suspect pod for a resource, if one was tried. */
export type ConfirmationOf = (suspectUid: string, resource: Resource) => Confirmation | undefined;

export function podReport(
  victim: VictimIdentity,
  summary: VictimSummary,
  wallNs: number,
  confirmationOf: ConfirmationOf = () => undefined,
): PodReport {
  const { assessment, lastWindow } = summary;
  const metrics = metricsOf(summary, wallNs);
  return {
    namespace: victim.namespace,
    name: victim.name,
    uid: victim.uid,
    ...(victim.containers.length > 0 ? { containers: victim.containers.slice(0, limits.containers) } : {}),
    verdict: assessment.verdict,
    score: assessment.score,
    scores: assessment.scores,
    ...(metrics ? { metrics } : {}),
    ...(assessment.selfInflicted.length > 0
      ? {
          selfInflicted: assessment.selfInflicted.slice(0, limits.selfInflicted).map((s) => ({
            resource: s.resource,
            cause: s.cause,
            seconds: round(s.lostNs / 1e9),
            percent: round(100 * s.share, 2),
            evidence: clip(s.evidence, limits.evidence),
          })),
        }
      : {}),
    ...(assessment.aggressors.length > 0
      ? {
          aggressors: assessment.aggressors.slice(0, limits.aggressors).map((a) => {
            const confirmation = a.ref.kind === 'Pod' ? confirmationOf(a.ref.uid, a.resource) : undefined;
            return { ...apiAggressor(a), ...(confirmation ? { confirmation } : {}) };
          }),
        }
      : {}),
    ...(lastWindow ? { lastWindow: { verdict: lastWindow.verdict, score: lastWindow.score } } : {}),
  };
}

function metricsOf(summary: VictimSummary, wallNs: number): Metrics | undefined {
  const { counters: c, span } = summary;
  if (!c || wallNs <= 0) return undefined;
  const metrics: Metrics = {};
  if (span.cpu) {
    metrics.cpu = {
      runqWaitSeconds: round(c.cpu.waitNs / 1e9),
      waitPercent: round((100 * c.cpu.waitNs) / wallNs, 2),
      runqP99Ms: round((percentileNs(c.cpu.waitHistogram, 0.99) ?? 0) / 1e6),
      involuntaryPreemptions: c.cpu.involuntary,
      throttledSeconds: round(c.files.throttledNs / 1e9),
    };
  }
  if (span.io && c.io.completed > 0) {
    let bytes = 0;
    for (const t of c.io.byDisk.values()) bytes += t.readBytes + t.writeBytes;
    metrics.io = {
      p99LatencyMs: round((span.io.p99Ns ?? 0) / 1e6),
      delayedPercent:
        span.io.requestNs > 0 ? Math.min(100, round((100 * span.io.delayedNs) / span.io.requestNs, 2)) : 0,
      delayedSeconds: round(span.io.delayedNs / 1e9),
      ops: c.io.completed,
      bytes,
    };
  }
  if (span.memory) {
    const stallNs = c.memory.direct.stallNs + c.memory.memcg.stallNs;
    metrics.memory = {
      reclaimStallSeconds: round(stallNs / 1e9),
      reclaimedPages: c.memory.direct.pages + c.memory.memcg.pages,
      stallPercent: round((100 * stallNs) / wallNs, 2),
    };
  }
  if (span.cache) {
    const { cycles, instructions, llcReferences, llcMisses } = c.cache;
    metrics.cache = {
      cpi: round(cycles / instructions),
      llcHitPercent: llcReferences > 0 ? round((100 * Math.max(0, llcReferences - llcMisses)) / llcReferences, 2) : 0,
      mpki: round((1000 * llcMisses) / instructions),
      ...(span.cache.baselineCpi !== undefined
        ? { baseline: 'QuietWindows' as const, baselineCpi: round(span.cache.baselineCpi) }
        : { baseline: 'None' as const }),
    };
  }
  if (c.psi) {
    const wallUs = wallNs / 1e3;
    const pct = (us: number) => Math.min(100, round((100 * us) / wallUs, 2));
    metrics.psi = {
      cpu: { somePercent: pct(c.psi.cpu.someUs), fullPercent: pct(c.psi.cpu.fullUs) },
      io: { somePercent: pct(c.psi.io.someUs), fullPercent: pct(c.psi.io.fullUs) },
      memory: { somePercent: pct(c.psi.memory.someUs), fullPercent: pct(c.psi.memory.fullUs) },
    };
  }
  return Object.keys(metrics).length > 0 ? metrics : undefined;
}

function apiAggressor(a: Aggressor): ApiAggressor {
  const who =
    a.ref.kind === 'Pod'
      ? { pod: { namespace: a.ref.namespace, name: a.ref.name, uid: a.ref.uid } }
      : { cgroup: clip(a.ref.kind === 'Cgroup' ? a.ref.path : '/', limits.cgroupPath) };
  return {
    ...who,
    resource: a.resource,
    sharePercent: Math.min(100, round(a.share * 100, 1)),
    evidence: clip(a.evidence, limits.evidence),
  };
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
