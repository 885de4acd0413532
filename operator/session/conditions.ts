// The session's conditions: their types and reasons (stable strings users and automation
// match on), and how a freshly computed set merges with the previous one so that
// lastTransitionTime moves only when a condition's status actually changes.
import type { Condition } from '../../crds/meta.js';

export const ConditionType = {
  SpecValid: 'SpecValid',
  TargetsResolved: 'TargetsResolved',
  NodesReporting: 'NodesReporting',
  ProbesHealthy: 'ProbesHealthy',
  InterferenceDetected: 'InterferenceDetected',
  /** A session with a duration: True once its report is final. */
  Completed: 'Completed',
} as const;

export const Reason = {
  SpecValid: 'SpecValid',
  InvalidSpec: 'InvalidSpec',
  TargetsFound: 'TargetsFound',
  TooManyTargets: 'TooManyTargets',
  NoTargets: 'NoTargets',
  AllNodesReporting: 'AllNodesReporting',
  AwaitingNodes: 'AwaitingNodes',
  NodesFailed: 'NodesFailed',
  StatusUnreadable: 'StatusUnreadable',
  ProbesActive: 'ProbesActive',
  ProbeUnsupported: 'ProbeUnsupported',
  ProbeDegraded: 'ProbeDegraded',
  InterferenceDetected: 'InterferenceDetected',
  NoInterference: 'NoInterference',
  /** No neighbour harms a victim; some are slowed by their own limits. */
  SelfLimited: 'SelfLimited',
  Measuring: 'Measuring',
  /** The duration elapsed; waiting for the nodes' final windows. */
  Finishing: 'Finishing',
  FinalWindowsReported: 'FinalWindowsReported',
  /** A node's final window did not arrive in time: the session completed without it. */
  FinalWindowMissing: 'FinalWindowMissing',
} as const;

export interface ConditionDraft {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
}

/** The drafts as conditions, in draft order; conditions not drafted are dropped. */
export function mergeConditions(
  previous: readonly Condition[] | undefined,
  drafts: readonly ConditionDraft[],
  generation: number,
  now: string,
): Condition[] {
  return drafts.map((d) => {
    const before = previous?.find((c) => c.type === d.type);
    return {
      type: d.type,
      status: d.status,
      observedGeneration: generation,
      lastTransitionTime: before && before.status === d.status ? before.lastTransitionTime : now,
      reason: d.reason,
      message: d.message.slice(0, 32768),
    };
  });
}
