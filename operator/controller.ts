// The session controller: informers feed a work queue with session keys (handlers only
// enqueue), workers reconcile one key at a time - observe from the caches, plan (pure), then
// carry the plan out through the API - and errors are retried with per-key backoff unless
// retrying cannot help. Caches run on every replica; workers only on the leader.
import { isDeepStrictEqual } from 'node:util';

import {
  apiVersion,
  diagnosticSessionKind,
  sessionSpecSchema,
  type SessionSpec,
  type SessionStatus,
} from '../crds/index.js';
import { sessionFinalizer } from '../crds/names.js';
import { microTime, sleep, type Clock } from '../common/clock.js';
import { errorCode } from '../common/errors.js';
import { ContentType, isAlreadyExists, isNotFound, isTerminal, type KubeClient } from '../common/kube/client.js';
import { Informer, type WatchSource } from '../common/kube/informer.js';
import {
  controllerUid,
  objectKey,
  parseChild,
  parseNode,
  parsePod,
  parseSession,
  splitKey,
  type ChildObject,
  type NodeInfo,
  type PodInfo,
  type SessionObject,
} from './kube/objects.js';
import { paths } from '../common/kube/paths.js';
import { objectRef, type Logger } from '../common/log.js';
import type { OperatorMetrics } from './metrics.js';
import type { EventDraft } from './session/events.js';
import { planSession, type SessionPlan } from './session/plan.js';
import { matchesSelector } from './session/selectors.js';
import { sessionNamespaces } from './session/targets.js';
import { WorkQueue } from './workqueue.js';

export interface ControllerOptions {
  client: KubeClient;
  /** Where the caches' watches come from; the API server's by default. */
  watch?: WatchSource;
  clock: Clock;
  log: Logger;
  metrics: OperatorMetrics;
  /** Name in managedFields and events' reportingInstance. */
  identity: string;
  workers: number;
  /** Every session is reconciled at least this often; caches are relisted as often. */
  resyncMs: number;
  /** After writing a session's status, wait this long before reconciling it again. */
  statusIntervalMs: number;
}

export const fieldManager = 'crosstalk-operator';
const reportingController = 'crosstalk.dev/operator';
const maxRememberedEvents = 10_000;

export class SessionController {
  readonly queue: WorkQueue;
  private readonly sessions: Informer<SessionObject>;
  private readonly children: Informer<ChildObject>;
  private readonly pods: Informer<PodInfo>;
  private readonly nodes: Informer<NodeInfo>;
  /** Parsed specs of cached sessions, for mapping pod events to sessions. */
  private readonly specs = new Map<string, SessionSpec>();
  private readonly childrenByOwner = new Map<string, Map<string, ChildObject>>();
  private readonly podsByNamespace = new Map<string, Map<string, PodInfo>>();
  /** Event names already created (or found to exist), to skip repeated create calls. */
  private readonly emitted = new Set<string>();
  private readonly statusWrittenAt = new Map<string, number>();
  private readonly stopping = new AbortController();
  private leading = true;
  private resyncTimer: { cancel(): void } | undefined;

  constructor(private readonly o: ControllerOptions) {
    this.queue = new WorkQueue({ clock: o.clock });
    o.metrics.watchQueue(() => this.queue.length);
    const common = {
      client: o.client,
      watch: o.watch,
      clock: o.clock,
      log: o.log,
      relistMs: o.resyncMs,
      onRelist: o.metrics.informerRelists,
    };
    this.sessions = new Informer({
      ...common,
      name: 'diagnosticsessions',
      path: paths.sessions(),
      parse: parseSession,
      key: (s) => objectKey(s.metadata),
      handlers: {
        onChange: (s) => this.sessionChanged(s),
        onDelete: (s) => this.sessionDeleted(s),
      },
    });
    this.children = new Informer({
      ...common,
      name: 'nodediagnostics',
      path: paths.nodeDiagnostics(),
      parse: parseChild,
      key: (c) => objectKey(c.metadata),
      handlers: {
        onChange: (c, old) => this.childChanged(c, old),
        onDelete: (c) => this.childChanged(undefined, c),
      },
    });
    this.pods = new Informer<PodInfo>({
      ...common,
      name: 'pods',
      path: paths.pods(),
      parse: parsePod,
      key: (p) => objectKey(p),
      handlers: { onChange: (p, old) => this.podChanged(p, old), onDelete: (p) => this.podChanged(undefined, p) },
    });
    this.nodes = new Informer({
      ...common,
      name: 'nodes',
      path: paths.nodes(),
      parse: parseNode,
      key: (n) => n.name,
      handlers: { onChange: (n, old) => this.nodeChanged(n, old), onDelete: (n) => this.nodeChanged(undefined, n) },
    });
  }

  /** Starts the caches (every replica keeps them warm, so a standby can take over at once). */
  startInformers(): void {
    for (const informer of this.informers()) informer.start();
    this.scheduleResync();
  }

  /** Why the caches are not usable yet (empty once every informer has listed). */
  notSynced(): string[] {
    return this.informers()
      .filter((i) => !i.hasSynced())
      .map((i) => `${i.name} cache not synced`);
  }

  /** Runs the workers until stop(). They reconcile only while `leading` (a replica that
   * lost its lease drops keys until it leads again, when every session is visited). */
  async runWorkers(): Promise<void> {
    await this.untilSynced();
    this.visitAll();
    await Promise.all(Array.from({ length: this.o.workers }, () => this.worker()));
  }

  /** Leadership came or went (leader election); without it the controller always leads. */
  setLeading(leading: boolean): void {
    this.leading = leading;
    if (leading) this.visitAll();
  }

  private visitAll(): void {
    for (const s of this.sessions.list()) this.queue.add(objectKey(s.metadata));
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.resyncTimer?.cancel();
    this.queue.shutDown();
    await Promise.all(this.informers().map((i) => i.stop()));
  }

  private informers() {
    return [this.sessions, this.children, this.pods, this.nodes] as const;
  }

  private scheduleResync(): void {
    this.resyncTimer = this.o.clock.setTimer(() => {
      for (const s of this.sessions.list()) this.queue.add(objectKey(s.metadata));
      this.scheduleResync();
    }, this.o.resyncMs);
  }

  /** Until every cache has listed: at start, and while one relists after 410 Gone (a
   * reconcile then could act on a session deleted while the watch was down). */
  private async untilSynced(): Promise<void> {
    while (this.notSynced().length > 0 && !this.stopping.signal.aborted)
      await sleep(this.o.clock, 100, this.stopping.signal);
  }

  private async worker(): Promise<void> {
    for (let key = await this.queue.get(); key !== undefined; key = await this.queue.get()) {
      if (!this.leading) {
        this.queue.forget(key);
        this.queue.done(key);
        continue;
      }
      await this.untilSynced();
      const started = this.o.clock.now();
      try {
        const requeueAfterMs = await this.reconcile(key);
        this.queue.forget(key);
        if (requeueAfterMs !== undefined) this.queue.addAfter(key, requeueAfterMs);
        this.o.metrics.reconciles.inc({ result: requeueAfterMs === undefined ? 'success' : 'requeue' });
      } catch (err) {
        const code = errorCode(err) ?? (err instanceof Error ? err.name : 'Unknown');
        this.o.metrics.errors.inc({ code });
        const session = objectRef(splitKey(key));
        if (isTerminal(err)) {
          this.queue.forget(key);
          this.o.metrics.reconciles.inc({ result: 'terminal' });
          this.o.log.error('reconcile failed; not retrying: the request itself was refused', { session, err });
        } else {
          this.o.metrics.reconciles.inc({ result: 'error' });
          this.o.log.warn('reconcile failed; retrying with backoff', {
            session,
            err,
            retries: this.queue.numRequeues(key),
          });
          this.queue.addRateLimited(key);
        }
      } finally {
        this.o.metrics.duration.observe((this.o.clock.now() - started) / 1000);
        this.queue.done(key);
      }
    }
  }

  /** One reconcile of one session; resolves to the requeue delay, if any. */
  async reconcile(key: string): Promise<number | undefined> {
    const session = this.sessions.get(key);
    if (!session) return undefined; // deleted: its children went with it (finalizer, owner GC)
    // Agents report every window: after a status write, a session's next reconcile waits
    // out statusIntervalMs, so a thousand agent updates make a few writes, not a thousand.
    const sinceWrite = this.o.clock.now() - (this.statusWrittenAt.get(key) ?? -Infinity);
    if (sinceWrite < this.o.statusIntervalMs) return this.o.statusIntervalMs - sinceWrite;
    const uid = session.metadata.uid ?? '';
    const namespace = session.metadata.namespace ?? '';
    const plan = planSession({
      session,
      children: [...(this.childrenByOwner.get(uid)?.values() ?? [])],
      podsIn: (ns) => [...(this.podsByNamespace.get(ns)?.values() ?? [])],
      nodes: new Map(this.nodes.list().map((n) => [n.name, n])),
      nameTaken: (name) => {
        const existing = this.children.get(`${namespace}/${name}`);
        return existing !== undefined && controllerUid(existing.metadata) !== uid;
      },
      now: this.o.clock.now(),
    });
    await this.execute(session, plan);
    if (plan.status) this.statusWrittenAt.set(key, this.o.clock.now());
    return plan.requeueAfterMs;
  }

  private async execute(session: SessionObject, plan: SessionPlan): Promise<void> {
    const { name, namespace = '' } = session.metadata;
    const log = { session: objectRef({ name, namespace }) };
    if (plan.finalizer === 'add')
      await this.setFinalizers(session, [...(session.metadata.finalizers ?? []), sessionFinalizer]);
    for (const child of plan.children.apply) {
      await this.o.client.apply(paths.nodeDiagnostics(namespace, child.metadata.name), child, fieldManager);
      this.o.log.info('applied NodeDiagnostic', {
        ...log,
        nodeDiagnostic: objectRef(child.metadata),
        node: { name: child.spec.nodeName },
      });
    }
    for (const child of plan.children.remove) {
      try {
        await this.o.client.delete(paths.nodeDiagnostics(namespace, child.metadata.name), { uid: child.metadata.uid });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      this.o.log.info('deleted NodeDiagnostic', {
        ...log,
        nodeDiagnostic: objectRef(child.metadata),
        node: { name: child.nodeName },
      });
    }
    for (const event of plan.events) await this.emit(event);
    if (plan.status) await this.writeStatus(session, plan.status);
    if (plan.finalizer === 'remove')
      await this.setFinalizers(
        session,
        (session.metadata.finalizers ?? []).filter((f) => f !== sessionFinalizer),
      );
    if (plan.status?.phase !== undefined && plan.status.phase !== previousPhase(session))
      this.o.log.info('session phase changed', { ...log, phase: plan.status.phase });
  }

  /** Replaces the finalizer list, guarded by resourceVersion (a conflict is retried). */
  private async setFinalizers(session: SessionObject, finalizers: string[]): Promise<void> {
    const { name, namespace = '', resourceVersion } = session.metadata;
    await this.o.client.patch(
      paths.sessions(namespace, name),
      { metadata: { finalizers, resourceVersion } },
      ContentType.mergePatch,
      fieldManager,
    );
  }

  private async writeStatus(session: SessionObject, status: SessionStatus): Promise<void> {
    const { name, namespace = '' } = session.metadata;
    await this.o.client.apply(
      paths.sessions(namespace, name, 'status'),
      { apiVersion, kind: diagnosticSessionKind, metadata: { name, namespace }, status },
      fieldManager,
    );
  }

  private async emit(event: EventDraft): Promise<void> {
    if (this.emitted.has(event.name)) return;
    const now = this.o.clock.now();
    try {
      await this.o.client.create(paths.events(event.namespace), {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: event.name, namespace: event.namespace },
        eventTime: microTime(now),
        reportingController,
        reportingInstance: this.o.identity.slice(0, 128),
        action: event.action,
        reason: event.reason,
        type: event.type,
        note: event.note,
        regarding: event.regarding,
        ...(event.related ? { related: event.related } : {}),
      });
      this.o.log.info('emitted event', { reason: event.reason, regarding: event.regarding, note: event.note });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    if (this.emitted.size >= maxRememberedEvents) this.emitted.delete(this.emitted.values().next().value!);
    this.emitted.add(event.name);
  }

  private sessionChanged(s: SessionObject): void {
    const key = objectKey(s.metadata);
    const spec = sessionSpecSchema.safeParse(s.spec);
    if (spec.success) this.specs.set(key, spec.data);
    else this.specs.delete(key);
    this.queue.add(key);
  }

  private sessionDeleted(s: SessionObject): void {
    this.specs.delete(objectKey(s.metadata));
    this.statusWrittenAt.delete(objectKey(s.metadata));
  }

  private childChanged(child: ChildObject | undefined, old: ChildObject | undefined): void {
    if (old) this.childrenByOwner.get(controllerUid(old.metadata) ?? '')?.delete(objectKey(old.metadata));
    if (child) {
      const owner = controllerUid(child.metadata);
      if (owner) {
        const byKey = this.childrenByOwner.get(owner) ?? new Map<string, ChildObject>();
        byKey.set(objectKey(child.metadata), child);
        this.childrenByOwner.set(owner, byKey);
      }
    }
    for (const c of [old, child]) {
      const ownerName = c?.metadata.ownerReferences?.find((r) => r.controller)?.name;
      if (ownerName) this.queue.add(`${c?.metadata.namespace ?? ''}/${ownerName}`);
    }
  }

  private podChanged(pod: PodInfo | undefined, old: PodInfo | undefined): void {
    const current = pod ?? old!;
    const byKey = this.podsByNamespace.get(current.namespace) ?? new Map<string, PodInfo>();
    if (pod) byKey.set(objectKey(pod), pod);
    else byKey.delete(objectKey(current));
    if (byKey.size) this.podsByNamespace.set(current.namespace, byKey);
    else this.podsByNamespace.delete(current.namespace);
    // Status-only churn (conditions, IPs) does not change what a session targets.
    if (pod && old && isDeepStrictEqual(pod, old)) return;
    for (const [key, spec] of this.specs) {
      const { namespace } = splitKey(key);
      if (!sessionNamespaces(spec, namespace).includes(current.namespace)) continue;
      if ([pod, old].some((p) => p && matchesSelector(spec.selector, p.labels))) this.queue.add(key);
    }
  }

  private nodeChanged(node: NodeInfo | undefined, old: NodeInfo | undefined): void {
    if (node && old && isDeepStrictEqual(node.labels, old.labels)) return;
    for (const [key, spec] of this.specs) if (spec.nodeSelector) this.queue.add(key);
  }
}

function previousPhase(session: SessionObject): unknown {
  return (session.status as { phase?: unknown } | undefined)?.phase;
}
