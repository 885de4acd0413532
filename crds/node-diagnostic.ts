// NodeDiagnostic: the contract between the operator and one node's agent. The operator
// writes the spec (what to measure on this node); the agent writes the status through
// the status subresource (what it measured), and nothing else writes either.
import { z } from 'zod';

import {
  apiVersion,
  defaulted,
  dnsSubdomain,
  listMap,
  objectMetaSchema,
  podRefSchema,
  timestamp,
  uid,
} from './meta.js';
import { confirmSchema } from './confirm.js';
import { backends, durationString, probeNames, probesSchema } from './probes.js';
import { limits, podReportSchema } from './report.js';
import { sessionLimits } from './diagnostic-session.js';

export const nodeLimits = {
  /** Victim pods per node (kubelet's default pod limit is 110). */
  targets: 128,
  /** Frames kept per captured stack. */
  stackFrames: 8,
  /** Characters per stack frame (`__schedule+0x2f0/0x7a0`). */
  frame: 96,
} as const;

export const nodeDiagnosticSpecSchema = z.object({
  nodeName: dnsSubdomain.describe('The node whose agent acts on this object (a selectable field).'),
  session: z
    .object({ name: dnsSubdomain, uid })
    .describe('The DiagnosticSession this object belongs to (also its controlling owner).'),
  interval: durationString('Length of one reporting window.'),
  deadline: timestamp
    .optional()
    .describe('Measurement stops at this time. Absent: it continues until this object is deleted.'),
  probes: defaulted(probesSchema),
  backend: z.enum(backends).default('auto'),
  captureStacks: z.boolean().default(false).describe('Record kernel stacks with slow events.'),
  maxEvents: z.int().min(0).max(sessionLimits.maxEvents).default(50).describe('Slow events to keep in status.'),
  confirm: defaulted(confirmSchema),
  targets: listMap(podRefSchema, ['uid'], nodeLimits.targets).describe('The victim pods on this node.'),
});
export type NodeDiagnosticSpec = z.output<typeof nodeDiagnosticSpecSchema>;

export const agentPhases = ['Starting', 'Measuring', 'Stopped', 'Failed'] as const;
export type AgentPhase = (typeof agentPhases)[number];

export const probeStates = ['Active', 'Unsupported', 'Degraded', 'Disabled'] as const;
export type ProbeState = (typeof probeStates)[number];

export const probeHealthSchema = z.object({
  name: z.enum(probeNames),
  state: z
    .enum(probeStates)
    .describe(
      'Active: measuring. Unsupported: this node cannot provide it (see reason). Degraded: running but losing data (see counts). Disabled: off in the spec.',
    ),
  reason: z.string().max(256).optional().describe('Why it is not Active, e.g. "no hardware PMU".'),
  lostEvents: z.int().min(0).default(0).describe('Events the kernel side could not record, this session.'),
  mapOverflows: z.int().min(0).default(0).describe('Times a kernel map was full, this session.'),
});
export type ProbeHealth = z.output<typeof probeHealthSchema>;

export const slowEventSchema = z.object({
  time: timestamp.describe('When the slow operation ended.'),
  probe: z.enum(['cpu', 'io', 'memory']),
  namespace: z.string().max(63),
  pod: z.string().max(253).describe('The victim pod that waited.'),
  container: z.string().max(63).optional(),
  latencyMs: z.number().min(0).describe('How long it waited, ms.'),
  detail: z.string().max(160).optional().describe('What it was, e.g. "write 4096 B on 8:0" or "reclaimed 32 pages".'),
  aggressor: z
    .string()
    .max(limits.cgroupPath)
    .optional()
    .describe('Who held the resource meanwhile: namespace/name of a pod, or a cgroup path.'),
  stack: z
    .array(z.string().max(nodeLimits.frame))
    .max(nodeLimits.stackFrames)
    .optional()
    .describe('Kernel stack, innermost first (spec.captureStacks).'),
});
export type SlowEvent = z.output<typeof slowEventSchema>;

export const nodeDiagnosticStatusSchema = z.object({
  observedGeneration: z.int().min(0).optional().describe('The .metadata.generation of the spec the agent is applying.'),
  phase: z
    .enum(agentPhases)
    .optional()
    .describe('Starting (loading probes), Measuring, Stopped (deadline passed) or Failed (see message).'),
  message: z.string().max(1024).optional().describe('Why the agent failed or what it is waiting for.'),
  agent: z
    .object({
      instance: z.string().max(253).describe('The agent pod (or host) name.'),
      version: z.string().max(64).optional().describe('The agent version.'),
    })
    .optional()
    .describe('The agent that writes this status.'),
  backend: z.enum(['ebpf', 'kmod']).optional().describe('The backend actually in use.'),
  window: z
    .object({
      intervalSeconds: z.number().min(0).describe('Window length applied.'),
      sequence: z
        .int()
        .min(0)
        .describe('Number of the last reported window, from 1; keeps increasing across agent restarts.'),
      windowsReported: z
        .int()
        .min(0)
        .describe('Windows folded into the pod figures (less than sequence when windows were lost).'),
      firstStart: timestamp.describe('Start of the first window: the pod figures cover firstStart to end.'),
      start: timestamp.describe('Start of the last reported window.'),
      end: timestamp.describe('End of the last reported window.'),
      final: z
        .boolean()
        .optional()
        .describe('The last window: it ends at spec.deadline and the figures will not change again.'),
    })
    .optional()
    .describe('Window bookkeeping; absent until the first window is reported.'),
  probes: listMap(probeHealthSchema, ['name'], probeNames.length)
    .optional()
    .describe('Health of each probe on this node.'),
  pods: listMap(podReportSchema, ['uid'], nodeLimits.targets)
    .optional()
    .describe('One report per victim pod, covering the windows from window.firstStart to window.end.'),
  events: z
    .array(slowEventSchema)
    .max(sessionLimits.maxEvents)
    .optional()
    .describe('The most recent slow events, at most spec.maxEvents, newest last.'),
  eventsDropped: z.int().min(0).optional().describe('Slow events not kept because of spec.maxEvents.'),
});
export type NodeDiagnosticStatus = z.output<typeof nodeDiagnosticStatusSchema>;

export const nodeDiagnosticKind = 'NodeDiagnostic';
export const nodeDiagnosticPlural = 'nodediagnostics';

/** A whole NodeDiagnostic as read from the API. */
export const nodeDiagnosticSchema = z.object({
  apiVersion: z.literal(apiVersion),
  kind: z.literal(nodeDiagnosticKind),
  metadata: objectMetaSchema,
  spec: nodeDiagnosticSpecSchema,
  status: nodeDiagnosticStatusSchema.optional(),
});
export type NodeDiagnostic = z.output<typeof nodeDiagnosticSchema>;
