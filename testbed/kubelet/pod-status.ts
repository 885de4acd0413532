// The status kubelet would publish for a pod, from what the harness knows about its
// containers. Pure: the caller supplies every time.
import type { QosClass } from './cgroup-layout.js';

export type ContainerState =
  | { readonly kind: 'waiting'; readonly reason: string; readonly message: string }
  | { readonly kind: 'running'; readonly startedAt: Date }
  | {
      readonly kind: 'terminated';
      readonly startedAt: Date;
      readonly finishedAt: Date;
      readonly exitCode: number;
      /** The signal that ended the process, when one did. */
      readonly signal?: string;
    };

export interface ContainerView {
  readonly name: string;
  readonly image: string;
  /** The 64-hex container id, once the container exists. */
  readonly id?: string;
  readonly state: ContainerState;
  /** Whether its readiness probe passes (default: whether it runs; no probe, no wait). */
  readonly ready?: boolean;
}

export interface PodView {
  readonly startTime: Date;
  readonly hostIP: string;
  readonly podIP: string;
  readonly qosClass: QosClass;
  readonly containers: readonly ContainerView[];
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export function podPhase(containers: readonly ContainerView[]): PodPhase {
  const states = containers.map((c) => c.state);
  if (states.some((s) => s.kind === 'waiting')) return 'Pending';
  if (states.some((s) => s.kind === 'running')) return 'Running';
  return states.every((s) => s.kind === 'terminated' && s.exitCode === 0) ? 'Succeeded' : 'Failed';
}

/** Kubernetes timestamps are RFC 3339 with whole seconds. */
export function kubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The pod's `status`, complete (a merge patch replaces its lists wholesale). */
export function podStatus(view: PodView): Record<string, unknown> {
  const phase = podPhase(view.containers);
  const ready = phase === 'Running' && view.containers.every(isReady);
  const lastChange = latest([view.startTime, ...view.containers.map((c) => changedAt(c.state) ?? view.startTime)]);
  const condition = (type: string, status: boolean, at: Date, reason?: string) => ({
    type,
    status: status ? 'True' : 'False',
    lastProbeTime: null,
    lastTransitionTime: kubeTime(at),
    ...(reason !== undefined && { reason }),
  });
  const notReadyReason = phase === 'Succeeded' || phase === 'Failed' ? 'PodCompleted' : 'ContainersNotReady';
  return {
    phase,
    qosClass: view.qosClass,
    startTime: kubeTime(view.startTime),
    hostIP: view.hostIP,
    hostIPs: [{ ip: view.hostIP }],
    podIP: view.podIP,
    podIPs: [{ ip: view.podIP }],
    conditions: [
      condition('PodReadyToStartContainers', phase !== 'Succeeded' && phase !== 'Failed', view.startTime),
      condition('Initialized', true, view.startTime),
      condition('Ready', ready, lastChange, ready ? undefined : notReadyReason),
      condition('ContainersReady', ready, lastChange, ready ? undefined : notReadyReason),
      condition('PodScheduled', true, view.startTime),
    ],
    containerStatuses: view.containers.map(containerStatus),
  };
}

function containerStatus(container: ContainerView): Record<string, unknown> {
  const { state } = container;
  return {
    name: container.name,
    image: container.image,
    imageID: '',
    ...(container.id !== undefined && { containerID: `containerd://${container.id}` }),
    ready: isReady(container),
    started: state.kind === 'running',
    restartCount: 0,
    state: stateJson(state),
  };
}

function isReady(container: ContainerView): boolean {
  return container.state.kind === 'running' && (container.ready ?? true);
}

function stateJson(state: ContainerState): Record<string, unknown> {
  switch (state.kind) {
    case 'waiting':
      return { waiting: { reason: state.reason, message: state.message } };
    case 'running':
      return { running: { startedAt: kubeTime(state.startedAt) } };
    case 'terminated':
      return {
        terminated: {
          exitCode: state.exitCode,
          reason: state.exitCode === 0 ? 'Completed' : 'Error',
          ...(state.signal !== undefined && { message: `killed by ${state.signal}` }),
          startedAt: kubeTime(state.startedAt),
          finishedAt: kubeTime(state.finishedAt),
        },
      };
  }
}

function changedAt(state: ContainerState): Date | undefined {
  if (state.kind === 'running') return state.startedAt;
  if (state.kind === 'terminated') return state.finishedAt;
  return undefined;
}

function latest(dates: readonly Date[]): Date {
  return new Date(Math.max(...dates.map((d) => d.getTime())));
}
