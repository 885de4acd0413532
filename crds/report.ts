// The per-victim interference report: what an agent measures for one pod on its node and
// what the operator copies, ranked, into the session. Every list is bounded so that a node
// status and a session status stay far below etcd's object size limit.
import { z } from 'zod';

import { confirmationSchema } from './confirm.js';
import { dnsLabel, dnsSubdomain, podRefSchema, uid, withRules } from './meta.js';

export const verdicts = ['None', 'Low', 'Medium', 'High'] as const;
export type Verdict = (typeof verdicts)[number];

/** Verdicts ordered from harmless to severe, for comparisons. */
export function verdictRank(v: Verdict): number {
  return verdicts.indexOf(v);
}

export const resources = ['cpu', 'io', 'memory', 'cache'] as const;
export type Resource = (typeof resources)[number];

export const limits = {
  /** Container names kept per victim. */
  containers: 8,
  /** Aggressors kept per victim, the largest shares first. */
  aggressors: 4,
  /** Self-inflicted causes kept per victim (one per resource at most). */
  selfInflicted: 3,
  /** Characters of an evidence sentence. */
  evidence: 200,
  /** Characters of a non-pod cgroup path. */
  cgroupPath: 320,
} as const;

const seconds = (d: string) => z.number().min(0).describe(d);
const percent = (d: string) => z.number().min(0).max(100).describe(d);
const count = (d: string) => z.int().min(0).describe(d);

export const cpuMetricsSchema = z
  .object({
    runqWaitSeconds: seconds('Time the victim threads spent runnable but waiting in a run queue.'),
    waitPercent: z
      .number()
      .min(0)
      .describe(
        'runqWaitSeconds as a share of wall-clock time covered, in percent (above 100 when several threads wait at once).',
      ),
    runqP99Ms: z.number().min(0).describe('99th percentile of a single run-queue wait, in milliseconds.'),
    involuntaryPreemptions: count('Times a victim thread was switched out while still runnable.'),
    throttledSeconds: seconds('Time the victim was throttled by its own CPU quota (cpu.stat).'),
  })
  .describe('CPU run-queue figures.');

export const ioMetricsSchema = z
  .object({
    p99LatencyMs: z.number().min(0).describe('99th percentile block IO latency (insert or issue to completion), ms.'),
    delayedPercent: percent(
      "Share of the victim's IO time during which other cgroups' requests were in flight on the same device (queued ahead of it or being served).",
    ),
    delayedSeconds: seconds('That time, summed over the victim requests.'),
    ops: count('Block IOs completed for the victim.'),
    bytes: count('Bytes of those IOs.'),
  })
  .describe('Block IO figures.');

export const memoryMetricsSchema = z
  .object({
    reclaimStallSeconds: seconds('Time victim threads were stalled in direct or cgroup memory reclaim.'),
    reclaimedPages: count('Pages reclaimed during those stalls.'),
    stallPercent: z.number().min(0).describe('reclaimStallSeconds as a share of wall-clock time covered, in percent.'),
  })
  .describe('Memory reclaim figures.');

export const cacheMetricsSchema = z
  .object({
    cpi: z.number().min(0).describe('Cycles per instruction of the victim.'),
    llcHitPercent: percent('Last-level cache hit rate of the victim, percent.'),
    mpki: z.number().min(0).describe('Last-level cache misses per thousand instructions.'),
    baseline: z
      .enum(['QuietWindows', 'None'])
      .describe(
        "Where the CPI baseline comes from: QuietWindows, the victim's windows in which its neighbours ran less than 5% of a CPU (never a contended window); None, no such window yet, so the cache resource is not scored.",
      ),
    baselineCpi: z
      .number()
      .min(0)
      .optional()
      .describe("The victim's CPI without contention (with baseline QuietWindows)."),
  })
  .describe('Hardware counter figures; absent where the node exposes no PMU.');

const psiPairSchema = z.object({
  somePercent: percent('Share of time at least one victim task stalled on the resource.'),
  fullPercent: percent(
    'Share of time all non-idle victim tasks stalled at once (absent for cpu on some kernels).',
  ).optional(),
});

export const psiMetricsSchema = z
  .object({
    cpu: psiPairSchema.optional().describe('cpu.pressure over the covered windows.'),
    memory: psiPairSchema.optional().describe('memory.pressure over the covered windows.'),
    io: psiPairSchema.optional().describe('io.pressure over the covered windows.'),
  })
  .describe('Pressure stall shares from the victim cgroup pressure files, where cgroup v2 provides them.');

export const metricsSchema = z
  .object({
    cpu: cpuMetricsSchema.optional(),
    io: ioMetricsSchema.optional(),
    memory: memoryMetricsSchema.optional(),
    cache: cacheMetricsSchema.optional(),
    psi: psiMetricsSchema.optional(),
  })
  .describe('What was measured, per resource; a resource whose probe is off or unsupported is absent.');
export type Metrics = z.output<typeof metricsSchema>;

const score = z.number().min(0).max(100);

export const scoresSchema = z
  .object({
    cpu: score.optional(),
    io: score.optional(),
    memory: score.optional(),
    cache: score.optional(),
  })
  .describe('Degradation score per resource, 0 (none) to 100 (severe).');

export const aggressorSchema = withRules(
  z.object({
    pod: podRefSchema.optional().describe('The aggressor pod; absent when the aggressor is not a pod.'),
    cgroup: z
      .string()
      .max(limits.cgroupPath)
      .optional()
      .describe('Cgroup path of a non-pod aggressor (e.g. /system.slice/backup.service); absent for pods.'),
    resource: z.enum(resources).describe('The resource through which it hurt the victim.'),
    sharePercent: percent("Share of the victim's loss on that resource attributed to this aggressor."),
    evidence: z
      .string()
      .max(limits.evidence)
      .describe(`One sentence a person can check, e.g. "held CPU 2 for 3.1 s of the victim's 3.8 s wait".`),
    confirmation: confirmationSchema.optional(),
  }),
  [
    {
      rule: 'has(self.pod) != has(self.cgroup)',
      message: 'an aggressor names either a pod or a cgroup path',
      holds: (a) => (a.pod === undefined) !== (a.cgroup === undefined),
    },
  ],
).describe('A neighbour that slowed the victim down.');
export type Aggressor = z.output<typeof aggressorSchema>;

// No IOLimit: blk-throttle holds a limited victim's bios before they become requests, so
// the io probe never counts that wait as time beside others; the victim is not harmed by
// neighbours there, and nothing measures how long its own limit held it.
export const selfInflictedCauses = ['CPUQuota', 'MemoryLimit'] as const;

export const selfInflictedSchema = z
  .object({
    resource: z.enum(resources),
    cause: z
      .enum(selfInflictedCauses)
      .describe('CPUQuota: CFS throttling by its own limit; MemoryLimit: reclaim at its own memory limit.'),
    seconds: seconds('Time the victim lost to its own limit.'),
    percent: z.number().min(0).describe('That time as a share of the wall-clock time covered, in percent.'),
    evidence: z.string().max(limits.evidence).describe('E.g. "its own CPU quota: throttled for 4.8 s of 5 s".'),
  })
  .describe('Loss the victim caused itself: reported apart from the verdict, and no neighbour is blamed for it.');

/** One victim pod's report, as the agent writes it into its NodeDiagnostic. */
export const podReportSchema = z.object({
  namespace: dnsLabel,
  name: dnsSubdomain,
  uid: uid.describe('The victim pod UID (the key of this list).'),
  containers: z
    .array(z.string().max(63))
    .max(limits.containers)
    .optional()
    .describe('Containers of the pod seen during the covered windows, short-lived ones included.'),
  verdict: z
    .enum(verdicts)
    .describe(
      'None, Low, Medium or High: the harm done by neighbours over the covered windows (loss to its own limits is in selfInflicted).',
    ),
  score: score.describe('The largest per-resource score, 0 to 100.'),
  scores: scoresSchema.optional(),
  metrics: metricsSchema.optional(),
  selfInflicted: z.array(selfInflictedSchema).max(limits.selfInflicted).optional(),
  aggressors: z
    .array(aggressorSchema)
    .max(limits.aggressors)
    .optional()
    .describe('Neighbours ranked by share, largest first.'),
  lastWindow: z
    .object({ verdict: z.enum(verdicts), score })
    .optional()
    .describe('Verdict and score of the most recent window alone: what is happening now.'),
});
export type PodReport = z.output<typeof podReportSchema>;

/** "ns/name": how pods are shown to people. */
export function podKey(p: { namespace: string; name: string }): string {
  return `${p.namespace}/${p.name}`;
}
