// Which pods a session diagnoses and on which nodes: selector + namespaces + nodeSelector,
// running pods only, grouped per node. When nothing is left the result says which step
// removed the last candidate, so the NoTargets condition tells the user what to change.
import type { SessionSpec } from '../../crds/diagnostic-session.js';
import type { PodRef } from '../../crds/meta.js';
import { nodeLimits } from '../../crds/node-diagnostic.js';
import type { NodeInfo, PodInfo } from '../kube/objects.js';
import { formatLabels, formatSelector, matchesLabels, matchesSelector } from './selectors.js';

export interface TargetResolution {
  /** Victim pods per node name, sorted by namespace/name, at most nodeLimits.targets each. */
  readonly byNode: ReadonlyMap<string, readonly PodRef[]>;
  /** Victims in byNode. */
  readonly victims: number;
  /** Victims left out because their node already had nodeLimits.targets. */
  readonly leftOut: number;
  /** Why byNode is empty (a sentence for the NoTargets condition). */
  readonly noTargets?: string;
}

export type PodsInNamespace = (namespace: string) => readonly PodInfo[];

const finishedPhases = new Set(['Succeeded', 'Failed']);

export function sessionNamespaces(spec: SessionSpec, sessionNamespace: string): readonly string[] {
  return spec.namespaces?.length ? spec.namespaces : [sessionNamespace];
}

export function resolveTargets(
  spec: SessionSpec,
  sessionNamespace: string,
  podsIn: PodsInNamespace,
  nodes: ReadonlyMap<string, NodeInfo>,
): TargetResolution {
  const namespaces = sessionNamespaces(spec, sessionNamespace);
  const matching = namespaces.flatMap((ns) => podsIn(ns).filter((p) => matchesSelector(spec.selector, p.labels)));
  const running = matching.filter((p) => !p.terminating && !finishedPhases.has(p.phase ?? '') && p.nodeName);
  const onNodes = running.filter((p) => {
    if (!spec.nodeSelector || Object.keys(spec.nodeSelector).length === 0) return true;
    const node = nodes.get(p.nodeName!);
    return node !== undefined && matchesLabels(spec.nodeSelector, node.labels);
  });

  const byNode = new Map<string, PodRef[]>();
  let leftOut = 0;
  for (const pod of onNodes.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`))) {
    const list = byNode.get(pod.nodeName!) ?? [];
    if (list.length >= nodeLimits.targets) {
      leftOut++;
      continue;
    }
    list.push({ namespace: pod.namespace, name: pod.name, uid: pod.uid });
    byNode.set(pod.nodeName!, list);
  }
  const victims = onNodes.length - leftOut;
  if (victims > 0) return { byNode: new Map([...byNode].sort(([a], [b]) => a.localeCompare(b))), victims, leftOut };

  const selector = formatSelector(spec.selector);
  const where = `namespace${namespaces.length > 1 ? 's' : ''} ${namespaces.join(', ')}`;
  let noTargets: string;
  if (matching.length === 0) {
    noTargets =
      `no pod in ${where} matches the selector ${selector}: check spec.selector and spec.namespaces ` +
      '(the session starts measuring when a matching pod runs)';
  } else if (running.length === 0) {
    const unscheduled = matching.filter((p) => !p.nodeName && !p.terminating).length;
    const finished = matching.filter((p) => finishedPhases.has(p.phase ?? '')).length;
    const terminating = matching.filter((p) => p.terminating).length;
    noTargets =
      `${plural(matching.length, 'pod')} in ${where} match ${selector} but none is running on a node ` +
      `(${unscheduled} not scheduled yet, ${finished} finished, ${terminating} terminating)`;
  } else {
    const nodeNames = [...new Set(running.map((p) => p.nodeName!))].sort();
    noTargets =
      `${plural(running.length, 'running pod')} match ${selector} but their nodes (${nodeNames.join(', ')}) ` +
      `do not carry spec.nodeSelector ${formatLabels(spec.nodeSelector)}`;
  }
  return { byNode, victims: 0, leftOut: 0, noTargets };
}

export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
