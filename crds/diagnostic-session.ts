// DiagnosticSession: what a user writes (spec) and the aggregated report the operator
// writes back (status). Schema = single source of truth for the CRD and the TS types.
import { z } from 'zod';

import { parseDuration } from './duration.js';
import {
  apiVersion,
  conditionSchema,
  defaulted,
  dnsLabel,
  dnsSubdomain,
  labelSelectorSchema,
  listMap,
  listSet,
  objectMetaSchema,
  timestamp,
  withRules,
} from './meta.js';
import { confirmSchema } from './confirm.js';
import { backends, durationString, durationWithin, probeNames, probesSchema } from './probes.js';

/** The longest session with a duration. */
const maxSessionDuration = '8760h';
import { podReportSchema, verdicts } from './report.js';

export const sessionLimits = {
  /** Victim reports kept in the session status, highest score first. */
  reports: 50,
  /** Probe problems listed in the session status. */
  probeIssues: 32,
  /** Namespaces a session may search. */
  namespaces: 64,
  /** Upper bound of spec.maxEvents (slow events kept per node). */
  maxEvents: 100,
} as const;

export const sessionSpecSchema = withRules(
  z.object({
    selector: labelSelectorSchema.describe(
      'Selects the victim pods: the pods whose slowdown by their neighbours is diagnosed.',
    ),
    namespaces: listSet(dnsLabel, sessionLimits.namespaces)
      .optional()
      .describe("Namespaces searched for victim pods; the session's own namespace when omitted."),
    nodeSelector: z
      .record(z.string(), z.string().max(63))
      .optional()
      .describe('Only victims on nodes carrying all these labels are diagnosed.'),
    duration: durationString(
      'How long to measure, e.g. 5m (at least one interval, at most 8760h). Omitted: continuous until the session is deleted.',
    ).optional(),
    interval: durationString('Length of one reporting window, 1s to 10m.').default('10s'),
    probes: defaulted(probesSchema),
    backend: z
      .enum(backends)
      .default('auto')
      .describe('Kernel backend on the nodes: ebpf, kmod (kernel module), or auto (ebpf where it can serve).'),
    captureStacks: z.boolean().default(false).describe('Record kernel stacks with slow events (costs more per event).'),
    maxEvents: z
      .int()
      .min(0)
      .max(sessionLimits.maxEvents)
      .default(50)
      .describe(`Slow events kept per node (the most recent), 0 to ${sessionLimits.maxEvents}.`),
    confirm: defaulted(confirmSchema),
  }),
  [
    durationWithin('interval', '1s', '10m'),
    {
      rule: '!has(self.duration) || duration(self.duration) >= duration(self.interval)',
      message: 'duration must be at least one interval long',
      fieldPath: '.duration',
      holds: (s) => s.duration === undefined || parseDuration(s.duration) >= parseDuration(s.interval),
    },
    {
      // A deadline must stay a date: 99999999999h passed the pattern and broke the plan.
      rule: `!has(self.duration) || duration(self.duration) <= duration('${maxSessionDuration}')`,
      message: `duration must be at most ${maxSessionDuration} (a year); omit it for a continuous session`,
      fieldPath: '.duration',
      holds: (s) => s.duration === undefined || parseDuration(s.duration) <= parseDuration(maxSessionDuration),
    },
  ],
);
export type SessionSpec = z.output<typeof sessionSpecSchema>;
/** A spec as a user may write it: defaulted fields optional. */
export type SessionSpecInput = z.input<typeof sessionSpecSchema>;

export const sessionPhases = ['Pending', 'Running', 'Finishing', 'Completed', 'Failed'] as const;
export type SessionPhase = (typeof sessionPhases)[number];

export const victimReportSchema = podReportSchema.omit({ containers: true }).extend({
  node: dnsSubdomain.describe('The node the victim runs on.'),
});
export type VictimReport = z.output<typeof victimReportSchema>;

export const probeIssueSchema = z.object({
  node: dnsSubdomain,
  probe: z.enum(probeNames),
  state: z.enum(['Unsupported', 'Degraded']),
  reason: z.string().max(256).describe('Why, as the agent reported it (e.g. "no hardware PMU").'),
});
export type ProbeIssue = z.output<typeof probeIssueSchema>;

export const sessionStatusSchema = z.object({
  phase: z
    .enum(sessionPhases)
    .optional()
    .describe(
      "Pending (no victim found yet), Running, Finishing (duration elapsed, waiting for every node's final window), Completed (the report is final) or Failed (see conditions).",
    ),
  observedGeneration: z.int().min(0).optional().describe('The spec generation this status reflects.'),
  conditions: listMap(conditionSchema, ['type'], 16)
    .optional()
    .describe(
      'SpecValid, TargetsResolved, NodesReporting, ProbesHealthy, InterferenceDetected, and Completed for a session with a duration (kubectl wait --for=condition=Completed).',
    ),
  startTime: timestamp.optional().describe('When measurement began (the first NodeDiagnostic was created).'),
  completionTime: timestamp
    .optional()
    .describe("When the session completed: every node's final window was in (or the wait for it ended)."),
  nodes: z
    .object({
      total: z.int().min(0).describe('Nodes hosting victims (one NodeDiagnostic each).'),
      ready: z.int().min(0).describe('Nodes whose agent measures the current spec.'),
      failed: z.int().min(0).describe('Nodes whose agent reported a failure.'),
      readyOfTotal: z.string().max(32).describe('"ready/total", for kubectl get.'),
    })
    .optional()
    .describe('Nodes hosting victims and the state of their agents.'),
  summary: z
    .object({
      victims: z.int().min(0).describe('Victim pods being diagnosed.'),
      affected: z.int().min(0).describe('Victims with a Medium or High verdict.'),
      selfLimited: z
        .int()
        .min(0)
        .optional()
        .describe('Victims slowed by their own limits (CPU quota, memory limit): reported apart from the verdict.'),
      verdict: z.enum(verdicts).optional().describe('The worst verdict of any victim.'),
      worstPod: z.string().max(320).optional().describe('namespace/name of the victim with the highest score.'),
      topAggressor: z
        .string()
        .max(400)
        .optional()
        .describe('The main aggressor of the worst victim, e.g. "batch/etl-7f9c (cpu 81%)".'),
    })
    .optional()
    .describe('The session at a glance (the columns of kubectl get).'),
  reports: z
    .array(victimReportSchema)
    .max(sessionLimits.reports)
    .optional()
    .describe(`Per-victim reports, highest score first, at most ${sessionLimits.reports}.`),
  reportsOmitted: z.int().min(0).optional().describe('Victim reports left out to keep the object small.'),
  probeIssues: z
    .array(probeIssueSchema)
    .max(sessionLimits.probeIssues)
    .optional()
    .describe('Probes that are unsupported or degraded, per node.'),
});
export type SessionStatus = z.output<typeof sessionStatusSchema>;

export const diagnosticSessionKind = 'DiagnosticSession';
export const diagnosticSessionPlural = 'diagnosticsessions';

/** A whole DiagnosticSession as read from the API. */
export const diagnosticSessionSchema = z.object({
  apiVersion: z.literal(apiVersion),
  kind: z.literal(diagnosticSessionKind),
  metadata: objectMetaSchema,
  spec: sessionSpecSchema,
  status: sessionStatusSchema.optional(),
});
export type DiagnosticSession = z.output<typeof diagnosticSessionSchema>;
