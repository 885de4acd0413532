// Recorded-shape API objects for the pure session logic, and a tiny "apiserver" that
// applies a plan the way the controller would, to check idempotence.
import type { SessionStatus } from '../../../../crds/diagnostic-session.js';
import { sessionFinalizer } from '../../../../crds/names.js';
import type { NodeDiagnosticStatus } from '../../../../crds/node-diagnostic.js';
import type { PodReport } from '../../../../crds/report.js';
import type { ChildObject, NodeInfo, PodInfo, SessionObject } from '../../../../operator/kube/objects.js';
import type { SessionObservation, SessionPlan } from '../../../../operator/session/plan.js';

export const t0 = Date.parse('2026-11-25T12:00:00Z');

export function session(
  spec: unknown,
  options: { status?: SessionStatus; generation?: number; finalizers?: string[]; deleting?: boolean } = {},
): SessionObject {
  return {
    metadata: {
      name: 'checkout',
      namespace: 'shop',
      uid: 'session-uid',
      generation: options.generation ?? 1,
      finalizers: options.finalizers ?? [sessionFinalizer],
      ...(options.deleting ? { deletionTimestamp: '2026-11-25T12:30:00Z' } : {}),
    },
    spec,
    status: options.status,
  };
}

export function pod(name: string, options: Partial<PodInfo> = {}): PodInfo {
  return {
    namespace: 'shop',
    name,
    uid: `uid-${name}`,
    labels: { app: 'checkout' },
    nodeName: 'node-a',
    phase: 'Running',
    terminating: false,
    ...options,
  };
}

export function node(name: string, labels: Record<string, string> = {}): NodeInfo {
  return { name, labels };
}

/** The cluster as the operator's informers see it. */
export class World {
  children: ChildObject[] = [];
  other: string[] = [];

  constructor(
    public session: SessionObject,
    public pods: PodInfo[],
    public nodes: NodeInfo[] = [node('node-a'), node('node-b'), node('node-c')],
    public now = t0,
  ) {}

  observe(): SessionObservation {
    return {
      session: this.session,
      children: this.children,
      podsIn: (ns) => this.pods.filter((p) => p.namespace === ns),
      nodes: new Map(this.nodes.map((n) => [n.name, n])),
      nameTaken: (name) => this.other.includes(name),
      now: this.now,
    };
  }

  /** What the apiserver would hold after the controller carried the plan out. */
  apply(plan: SessionPlan): void {
    const meta = { ...this.session.metadata };
    if (plan.finalizer === 'add') meta.finalizers = [...(meta.finalizers ?? []), sessionFinalizer];
    if (plan.finalizer === 'remove') meta.finalizers = meta.finalizers?.filter((f) => f !== sessionFinalizer);
    this.session = { ...this.session, metadata: meta, status: plan.status ?? this.session.status };
    const removed = new Set(plan.children.remove.map((c) => c.metadata.name));
    this.children = this.children.filter((c) => !removed.has(c.metadata.name));
    for (const manifest of plan.children.apply) {
      const existing = this.children.find((c) => c.metadata.name === manifest.metadata.name);
      const generation = (existing?.metadata.generation ?? 0) + 1;
      const updated: ChildObject = {
        metadata: { ...manifest.metadata, ownerReferences: [...manifest.metadata.ownerReferences], generation },
        nodeName: manifest.spec.nodeName,
        spec: structuredClone(manifest.spec),
        status: existing?.status,
      };
      this.children = [...this.children.filter((c) => c !== existing), updated];
    }
  }

  /** An agent writes its node's status (`final`: the window ending at the deadline). */
  report(
    nodeName: string,
    { final, ...status }: Partial<NodeDiagnosticStatus> & { pods?: PodReport[]; final?: boolean },
  ): void {
    const child = this.children.find((c) => c.nodeName === nodeName);
    if (!child) throw new Error(`no NodeDiagnostic for ${nodeName}`);
    const t = new Date(this.now).toISOString();
    Object.assign(child, {
      status: {
        observedGeneration: child.metadata.generation,
        phase: final ? 'Stopped' : 'Measuring',
        window: {
          intervalSeconds: 10,
          sequence: 1,
          windowsReported: 1,
          firstStart: t,
          start: t,
          end: t,
          ...(final ? { final } : {}),
        },
        probes: [{ name: 'cpu', state: 'Active', lostEvents: 0, mapOverflows: 0 }],
        ...status,
      },
    });
  }
}

export function report(
  name: string,
  verdict: PodReport['verdict'],
  score: number,
  extra: Partial<PodReport> = {},
): PodReport {
  return { namespace: 'shop', name, uid: `uid-${name}`, verdict, score, ...extra };
}

export const cpuHog = {
  pod: { namespace: 'batch', name: 'etl-7f9c', uid: 'uid-etl' },
  resource: 'cpu' as const,
  sharePercent: 81.2,
  evidence: "held CPU 2 for 3.1 s of the victim's 3.8 s wait",
};
