// Reconcile of one DiagnosticSession as a pure function: from what the informers observed
// to what should change (finalizer, children, status, events, when to look again). It
// reads no clock and calls no API, so the same observation always gives the same plan;
// applying a plan and observing again gives an empty one (idempotence).
import { isDeepStrictEqual } from 'node:util';

import {
  diagnosticSessionKind,
  sessionSpecSchema,
  sessionStatusSchema,
  type SessionPhase,
  type SessionSpec,
  type SessionStatus,
} from '../../crds/diagnostic-session.js';
import { formatDuration, parseDuration } from '../../crds/duration.js';
import { apiVersion } from '../../crds/meta.js';
import { sessionFinalizer } from '../../crds/names.js';
import { nodeLimits, type NodeDiagnosticSpec } from '../../crds/node-diagnostic.js';
import { podKey, verdictRank } from '../../crds/report.js';
import type { VictimReport } from '../../crds/diagnostic-session.js';
import type { ChildObject, NodeInfo, SessionObject } from '../kube/objects.js';
import { aggregate, describeAggressor, type Aggregate, type NodeView } from './aggregate.js';
import {
  childSpec,
  parseChildSpec,
  planChildren,
  sessionIdentity,
  type ChildChanges,
  type SessionIdentity,
} from './children.js';
import { ConditionType, mergeConditions, Reason, type ConditionDraft } from './conditions.js';
import { eventDraft, EventReason, type EventDraft, type ObjectReference } from './events.js';
import { describeIssues } from './issues.js';
import { labelMapProblems, selectorProblems } from './selectors.js';
import { plural, resolveTargets, type PodsInNamespace, type TargetResolution } from './targets.js';

export interface SessionObservation {
  readonly session: SessionObject;
  /** NodeDiagnostics whose controller is this session. */
  readonly children: readonly ChildObject[];
  readonly podsIn: PodsInNamespace;
  readonly nodes: ReadonlyMap<string, NodeInfo>;
  /** Whether a NodeDiagnostic of this name exists in the session's namespace that is not its child. */
  readonly nameTaken: (name: string) => boolean;
  /** Milliseconds since the epoch. */
  readonly now: number;
}

export interface SessionPlan {
  readonly finalizer?: 'add' | 'remove';
  readonly children: ChildChanges;
  /** The status to write; absent when it is already current. */
  readonly status?: SessionStatus;
  readonly events: readonly EventDraft[];
  /** Look at the session again after this long (the duration's end). */
  readonly requeueAfterMs?: number;
}

const noChanges: ChildChanges = { apply: [], remove: [] };

export function planSession(obs: SessionObservation): SessionPlan {
  const meta = obs.session.metadata;
  const id = sessionIdentity(meta);
  const hasFinalizer = meta.finalizers?.includes(sessionFinalizer) ?? false;

  if (meta.deletionTimestamp !== undefined) {
    if (obs.children.length > 0) return { children: { apply: [], remove: obs.children }, events: [] };
    return { ...(hasFinalizer ? { finalizer: 'remove' as const } : {}), children: noChanges, events: [] };
  }

  const previous = previousStatus(obs.session.status);
  const context: PlanContext = {
    obs,
    id,
    ref: { apiVersion, kind: diagnosticSessionKind, name: id.name, namespace: id.namespace, uid: id.uid },
    generation: meta.generation ?? 0,
    nowIso: new Date(obs.now).toISOString(),
    previous,
  };
  const finalizer = hasFinalizer ? {} : { finalizer: 'add' as const };
  // A completed session's report is final: nothing the agents write later, and no later
  // edit of its spec (valid or not), changes it.
  if (previous.phase === 'Completed') return { ...finalizer, ...planCompleted(context) };

  const parsed = sessionSpecSchema.safeParse(obs.session.spec);
  const problems = parsed.success
    ? [...selectorProblems(parsed.data.selector), ...labelMapProblems(parsed.data.nodeSelector)]
    : describeIssues('spec', parsed.error);
  if (!parsed.success || problems.length > 0) return { ...finalizer, ...planInvalid(context, problems) };
  return { ...finalizer, ...planValid(context, parsed.data) };
}

interface PlanContext {
  readonly obs: SessionObservation;
  readonly id: SessionIdentity;
  readonly ref: ObjectReference;
  readonly generation: number;
  readonly nowIso: string;
  readonly previous: SessionStatus;
}

function previousStatus(raw: unknown): SessionStatus {
  const parsed = sessionStatusSchema.safeParse(raw ?? {});
  return parsed.success ? parsed.data : {};
}

function planInvalid(ctx: PlanContext, problems: readonly string[]): SessionPlan {
  const message = `the spec cannot be run: ${problems.join('; ')}. Fix the session's spec; measurement is stopped until then`;
  const status: SessionStatus = {
    phase: 'Failed',
    observedGeneration: ctx.generation,
    conditions: mergeConditions(
      ctx.previous.conditions,
      [{ type: ConditionType.SpecValid, status: 'False', reason: Reason.InvalidSpec, message }],
      ctx.generation,
      ctx.nowIso,
    ),
    ...(ctx.previous.startTime ? { startTime: ctx.previous.startTime } : {}),
    nodes: { total: 0, ready: 0, failed: 0, readyOfTotal: '0/0' },
    summary: { victims: 0, affected: 0 },
  };
  const announced = ctx.previous.conditions?.some(
    (c) => c.type === ConditionType.SpecValid && c.status === 'False' && c.observedGeneration === ctx.generation,
  );
  return {
    children: { apply: [], remove: ctx.obs.children },
    ...statusIfChanged(ctx.previous, status),
    events: announced
      ? []
      : [eventDraft(ctx.ref, EventReason.InvalidSpec, 'Warning', message, [String(ctx.generation)])],
  };
}

/** How long after the deadline a node's final window is waited for: a few intervals. */
export function finalWindowGraceMs(spec: SessionSpec): number {
  return Math.max(3 * parseDuration(spec.interval), 10_000);
}

function planCompleted(ctx: PlanContext): SessionPlan {
  return {
    children: noChanges,
    ...statusIfChanged(ctx.previous, { ...ctx.previous, observedGeneration: ctx.generation }),
    events: [],
  };
}

function planValid(ctx: PlanContext, spec: SessionSpec): SessionPlan {
  const { obs, previous } = ctx;
  const deadlineOf = (start: string | undefined) =>
    start && spec.duration ? Date.parse(start) + parseDuration(spec.duration) : undefined;
  const pastDeadline = (deadlineOf(previous.startTime) ?? Infinity) <= obs.now;
  const targets = pastDeadline ? undefined : resolveTargets(spec, ctx.id.namespace, obs.podsIn, obs.nodes);
  const begins = previous.startTime === undefined && targets !== undefined && targets.victims > 0;
  const started = previous.startTime ?? (begins ? ctx.nowIso : undefined);
  const deadline = deadlineOf(started);

  // After the duration, children stay as they are: their agents write the final window at
  // the deadline, then stop, and their reports remain readable.
  let changes = noChanges;
  let desired: ReadonlyMap<string, NodeDiagnosticSpec>;
  if (pastDeadline || !targets) {
    desired = new Map(
      obs.children
        .map((c) => [c.nodeName, specOf(c)])
        .filter((e): e is [string, NodeDiagnosticSpec] => e[1] !== undefined),
    );
  } else {
    const deadlineIso = deadline !== undefined ? new Date(deadline).toISOString() : undefined;
    desired = new Map(
      [...targets.byNode].map(([node, pods]) => [node, childSpec(ctx.id, spec, node, pods, deadlineIso)]),
    );
    changes = planChildren(ctx.id, desired, obs.children, obs.nameTaken);
  }

  const pendingUpdate = new Set(changes.apply.map((m) => m.spec.nodeName));
  const childByNode = new Map(obs.children.map((c) => [c.nodeName, c]));
  const views: NodeView[] = [...desired].map(([node, childSpecValue]) => {
    const child = childByNode.get(node);
    return {
      nodeName: node,
      targets: new Set(childSpecValue.targets.map((t) => t.uid)),
      status: child?.status,
      specApplied: (s) =>
        !pendingUpdate.has(node) && child !== undefined && s.observedGeneration === child.metadata.generation,
    };
  });
  const agg = aggregate(views);

  // Completed once every node's final window is in, or when the wait for it is over.
  const graceEndMs = deadline !== undefined ? deadline + finalWindowGraceMs(spec) : undefined;
  const missing = pastDeadline && graceEndMs !== undefined && obs.now >= graceEndMs ? agg.notFinal : [];
  const completing = pastDeadline && (agg.notFinal.length === 0 || missing.length > 0);
  let phase: SessionPhase;
  if (completing) phase = 'Completed';
  else if (pastDeadline) phase = 'Finishing';
  else if (!started) phase = 'Pending';
  else if (agg.nodes.total > 0 && agg.nodes.failed === agg.nodes.total) phase = 'Failed';
  else phase = 'Running';

  const drafts = conditionDrafts(agg, targets, missing);
  if (spec.duration) drafts.push(completedCondition(phase, agg, missing));
  const status: SessionStatus = {
    phase,
    observedGeneration: ctx.generation,
    conditions: mergeConditions(previous.conditions, drafts, ctx.generation, ctx.nowIso),
    ...(started ? { startTime: started } : {}),
    ...(completing ? { completionTime: ctx.nowIso } : {}),
    nodes: agg.nodes,
    summary: agg.summary,
    ...(agg.reports.length ? { reports: agg.reports } : {}),
    ...(agg.reportsOmitted ? { reportsOmitted: agg.reportsOmitted } : {}),
    ...(agg.probeIssues.length ? { probeIssues: agg.probeIssues } : {}),
  };

  const events = eventDrafts(ctx, agg, { started: begins, completing, spec });
  const lookAgainAt = phase === 'Running' ? deadline : phase === 'Finishing' ? graceEndMs : undefined;
  return {
    children: changes,
    ...statusIfChanged(previous, status),
    events,
    ...(lookAgainAt !== undefined ? { requeueAfterMs: Math.max(1, lookAgainAt - obs.now) } : {}),
  };
}

function completedCondition(phase: SessionPhase, agg: Aggregate, missing: readonly string[]): ConditionDraft {
  const type = ConditionType.Completed;
  if (phase === 'Completed' && missing.length > 0)
    return {
      type,
      status: 'True',
      reason: Reason.FinalWindowMissing,
      message: `completed without the final window of ${missing.join(', ')}: its figures end at its last report`,
    };
  if (phase === 'Completed')
    return {
      type,
      status: 'True',
      reason: Reason.FinalWindowsReported,
      message: `the final window of ${plural(agg.nodes.total, 'node')} is in: the report will not change`,
    };
  if (phase === 'Finishing')
    return {
      type,
      status: 'False',
      reason: Reason.Finishing,
      message: `the duration elapsed; waiting for the final window of ${agg.notFinal.join(', ')}`,
    };
  return { type, status: 'False', reason: Reason.Measuring, message: 'measuring until the duration elapses' };
}

function specOf(child: ChildObject): NodeDiagnosticSpec | undefined {
  const parsed = parseChildSpec(child.spec);
  return parsed.success ? parsed.data : undefined;
}

function statusIfChanged(previous: SessionStatus, next: SessionStatus): { status?: SessionStatus } {
  return isDeepStrictEqual(previous, next) ? {} : { status: next };
}

function conditionDrafts(
  agg: Aggregate,
  targets: TargetResolution | undefined,
  missingFinal: readonly string[],
): ConditionDraft[] {
  const drafts: ConditionDraft[] = [
    { type: ConditionType.SpecValid, status: 'True', reason: Reason.SpecValid, message: 'the spec is valid' },
  ];
  const onNodes = `${plural(agg.summary.victims, 'victim pod')} on ${plural(agg.nodes.total, 'node')}`;
  if (targets && targets.victims === 0) {
    drafts.push({
      type: ConditionType.TargetsResolved,
      status: 'False',
      reason: Reason.NoTargets,
      message: targets.noTargets ?? 'no victim pods',
    });
  } else if (targets && targets.leftOut > 0) {
    drafts.push({
      type: ConditionType.TargetsResolved,
      status: 'True',
      reason: Reason.TooManyTargets,
      message: `${onNodes}; ${plural(targets.leftOut, 'more pod')} left out: at most ${nodeLimits.targets} victims per node, narrow spec.selector`,
    });
  } else {
    drafts.push({ type: ConditionType.TargetsResolved, status: 'True', reason: Reason.TargetsFound, message: onNodes });
  }

  if (agg.nodes.total > 0) drafts.push(nodesReporting(agg, missingFinal));
  const probes = probesHealthy(agg);
  if (probes) drafts.push(probes);
  if (agg.reports.length > 0) drafts.push(interference(agg));
  return drafts;
}

function nodesReporting(agg: Aggregate, missingFinal: readonly string[]): ConditionDraft {
  const type = ConditionType.NodesReporting;
  const list = (problems: readonly { node: string; message: string }[]) =>
    problems.map((p) => `${p.node}: ${p.message}`).join('; ');
  if (missingFinal.length > 0)
    return {
      type,
      status: 'False',
      reason: Reason.FinalWindowMissing,
      message: `no final window from ${missingFinal.join(', ')} after the deadline: the session completed without it (check that the crosstalk agent runs there)`,
    };
  if (agg.unreadable.length > 0)
    return {
      type,
      status: 'False',
      reason: Reason.StatusUnreadable,
      message: `cannot read the NodeDiagnostic status written by the agent on ${list(agg.unreadable)}; check that the agent and operator versions match`,
    };
  if (agg.failed.length > 0)
    return { type, status: 'False', reason: Reason.NodesFailed, message: `agent failed on ${list(agg.failed)}` };
  if (agg.waiting.length > 0)
    return {
      type,
      status: 'False',
      reason: Reason.AwaitingNodes,
      message: `${agg.nodes.readyOfTotal} nodes measuring; waiting for the agent on ${agg.waiting.join(', ')} to apply the current spec (check that the crosstalk agent runs there)`,
    };
  return {
    type,
    status: 'True',
    reason: Reason.AllNodesReporting,
    message: `${agg.nodes.readyOfTotal} nodes measuring`,
  };
}

function probesHealthy(agg: Aggregate): ConditionDraft | undefined {
  if (agg.probeIssues.length === 0) {
    if (agg.nodes.ready === 0) return undefined;
    return {
      type: ConditionType.ProbesHealthy,
      status: 'True',
      reason: Reason.ProbesActive,
      message: `every enabled probe is active on ${plural(agg.nodes.ready, 'measuring node')}`,
    };
  }
  const groups = new Map<string, string[]>();
  for (const issue of agg.probeIssues) {
    const key = `${issue.probe} ${issue.state === 'Unsupported' ? 'unsupported' : 'degraded'}\0${issue.reason}`;
    groups.set(key, [...(groups.get(key) ?? []), issue.node]);
  }
  const message = [...groups]
    .map(([key, nodes]) => {
      const [what, reason] = key.split('\0');
      return `${what} on ${nodes.join(', ')}: ${reason}`;
    })
    .join('; ');
  const unsupported = agg.probeIssues.some((i) => i.state === 'Unsupported');
  return {
    type: ConditionType.ProbesHealthy,
    status: 'False',
    reason: unsupported ? Reason.ProbeUnsupported : Reason.ProbeDegraded,
    message: `${message} (the other probes keep measuring)`,
  };
}

function interference(agg: Aggregate): ConditionDraft {
  const worst = agg.reports[0]!;
  const cause = worst.aggressors?.[0] ? `: ${describeAggressor(worst.aggressors[0])}` : '';
  if (agg.summary.affected > 0)
    return {
      type: ConditionType.InterferenceDetected,
      status: 'True',
      reason: Reason.InterferenceDetected,
      message: `${agg.summary.affected} of ${plural(agg.summary.victims, 'victim')} suffer Medium or High interference; worst ${podKey(worst)} on ${worst.node} (${worst.verdict}, score ${Math.round(worst.score)})${cause}`,
    };
  const limited = agg.reports.filter((r) => (r.selfInflicted?.length ?? 0) > 0);
  if (limited.length > 0) {
    const [first] = limited;
    const causes = (first!.selfInflicted ?? []).map((s) => `${s.cause} ${Math.round(s.percent)}%`).join(', ');
    return {
      type: ConditionType.InterferenceDetected,
      status: 'False',
      reason: Reason.SelfLimited,
      message: `no victim suffers Medium or High interference from its neighbours (worst verdict ${agg.summary.verdict ?? 'None'}); ${plural(limited.length, 'victim')} slowed by ${limited.length > 1 ? 'their' : 'its'} own limits, e.g. ${podKey(first!)} on ${first!.node} (${causes})`,
    };
  }
  return {
    type: ConditionType.InterferenceDetected,
    status: 'False',
    reason: Reason.NoInterference,
    message: `no victim suffers Medium or High interference (worst verdict ${agg.summary.verdict ?? 'None'})`,
  };
}

function eventDrafts(
  ctx: PlanContext,
  agg: Aggregate,
  what: { started: boolean; completing: boolean; spec: SessionSpec },
): EventDraft[] {
  const events: EventDraft[] = [];
  if (what.started)
    events.push(
      eventDraft(
        ctx.ref,
        EventReason.SessionStarted,
        'Normal',
        `measuring ${plural(agg.summary.victims, 'victim pod')} on ${plural(agg.nodes.total, 'node')}` +
          (what.spec.duration ? ` for ${formatDuration(parseDuration(what.spec.duration))}` : ' until deleted'),
        [],
      ),
    );
  if (what.completing)
    events.push(
      eventDraft(
        ctx.ref,
        EventReason.SessionCompleted,
        'Normal',
        `completed: ${agg.summary.affected} of ${plural(agg.summary.victims, 'victim')} with Medium or High interference` +
          (agg.summary.worstPod ? `; worst ${agg.summary.worstPod} (${agg.summary.verdict})` : ''),
        [],
      ),
    );

  // A victim is announced when its verdict first reaches Medium or rises above what the
  // previous status already showed, so a restart (which sees that status) stays silent.
  const before = new Map((ctx.previous.reports ?? []).map((r) => [r.uid, verdictRank(r.verdict)]));
  for (const report of agg.reports) {
    const rank = verdictRank(report.verdict);
    if (rank < verdictRank('Medium') || rank <= (before.get(report.uid) ?? 0)) continue;
    const cause = report.aggressors?.[0];
    const note =
      `${podKey(report)} on ${report.node}: ${report.verdict} interference (score ${Math.round(report.score)})` +
      (cause ? `; top aggressor ${describeAggressor(cause)}: ${cause.evidence}` : '');
    const pod: ObjectReference = {
      apiVersion: 'v1',
      kind: 'Pod',
      name: report.name,
      namespace: report.namespace,
      uid: report.uid,
    };
    const identity = [report.uid, report.verdict];
    events.push(eventDraft(pod, EventReason.InterferenceDetected, 'Warning', note, [ctx.id.uid, ...identity], ctx.ref));
    events.push(eventDraft(ctx.ref, EventReason.InterferenceDetected, 'Warning', note, identity, pod));
  }
  events.push(...confirmationEvents(ctx, agg.reports));
  return events;
}

/** On the session and on the suspect pod: when an agent starts restraining a suspect, and
 * when the victim recovered while it was restrained; each when the status first shows it. */
function confirmationEvents(ctx: PlanContext, reports: readonly VictimReport[]): EventDraft[] {
  const shown = new Set<string>();
  for (const report of ctx.previous.reports ?? [])
    for (const a of report.aggressors ?? [])
      if (a.confirmation)
        shown.add(`${report.uid}/${a.confirmation.suspect.uid}/${a.resource}/${a.confirmation.result}`);
  const events: EventDraft[] = [];
  for (const report of reports) {
    for (const a of report.aggressors ?? []) {
      const c = a.confirmation;
      if (!c || (c.result !== 'Running' && c.result !== 'Confirmed')) continue;
      if (shown.has(`${report.uid}/${c.suspect.uid}/${a.resource}/${c.result}`)) continue;
      const suspect: ObjectReference = { apiVersion: 'v1', kind: 'Pod', ...c.suspect };
      const started = c.result === 'Running';
      const reason = started ? EventReason.ConfirmationStarted : EventReason.InterferenceConfirmed;
      const note = started
        ? `restraining ${podKey(c.suspect)} (${c.restraint ?? a.resource}) to see whether ${podKey(report)} recovers`
        : `${podKey(report)} recovered while ${podKey(c.suspect)} was restrained (${c.restraint ?? a.resource}): ` +
          `its ${a.resource} loss went ${c.lossBeforePercent}% → ${c.lossDuringPercent}% → ${c.lossAfterPercent}%`;
      const identity = [report.uid, c.suspect.uid, a.resource, reason];
      events.push(
        eventDraft(suspect, reason, started ? 'Normal' : 'Warning', note, [ctx.id.uid, ...identity], ctx.ref),
      );
      events.push(eventDraft(ctx.ref, reason, started ? 'Normal' : 'Warning', note, identity, suspect));
    }
  }
  return events;
}
