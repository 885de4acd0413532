// The node agent: watches the NodeDiagnostics naming this node and the pods bound to it,
// keeps the kernel probes attached exactly while some session needs the node, turns each
// probe read into per-pod counters, closes windows on time and writes every session's
// status back with server-side apply.
import {
  nodeDiagnosticSchema,
  nodeDiagnosticKind,
  apiVersion,
  type NodeDiagnostic,
  type ProbeHealth,
  type SlowEvent,
} from '../crds/index.js';
import type { Clock, Timer } from '../common/clock.js';
import type { KubeClient } from '../common/kube/client.js';
import { Informer, type WatchSource } from '../common/kube/informer.js';
import { paths } from '../common/kube/paths.js';
import type { Logger } from '../common/log.js';
import { readCgroupMounts, type CgroupMounts, type Hierarchy } from './cgroups/mounts.js';
import { CgroupRegistry, readHierarchyIds, type CgroupEntry } from './cgroups/registry.js';
import { join } from 'node:path';

import { Confirmer } from './confirm/confirmer.js';
import { RestraintJournal } from './confirm/restraint.js';
import { diskDevice, diskNamer } from './disks.js';
import { PodIndex, podSchema, type Pod } from './kube/pod-index.js';
import { addAll, type SubjectCounters } from './measure/counters.js';
import { FileSampler } from './measure/file-sampler.js';
import { foldWindow, type FoldContext, type NameDisk, type ResolveSubject } from './measure/fold.js';
import { subjectResolver, subjectText } from './measure/subjects.js';
import type { AgentMetrics } from './metrics.js';
import { mergeSettings, ProbeHost } from './probe-host.js';
import { ProbeLosses } from './probe-losses.js';
import type {
  BlockDevice,
  CgroupRef,
  ProbeEvent,
  ProbeStatus,
  SlowIoEvent,
  SlowReclaimEvent,
  SlowRunqEvent,
} from './probes/index.js';
import { formatBytes } from './report/format.js';
import { SessionRunner } from './session-runner.js';
import { StateStore } from './state-store.js';
import { threadNamer } from './threads.js';

export const fieldManager = 'crosstalk-agent';
const maxWriteBackoffMs = 30_000;
const fileSampleMs = 5000;
/** How far past a window close or a confirmation step the tick is aimed (timer rounding). */
const timerSlackMs = 3;

export interface NodeAgentOptions {
  readonly nodeName: string;
  readonly instance: string;
  readonly client: KubeClient;
  readonly log: Logger;
  readonly clock: Clock;
  readonly metrics: AgentMetrics;
  /** Only cgroups whose path contains this segment are this node's (tests run several). */
  readonly cgroupScope?: string;
  /** Where restart state is kept (survives the agent process). */
  readonly stateDir: string;
  readonly tickMs?: number;
  readonly eventPollMs?: number;
  /** The probes; loaded through ProbeSession by default. */
  readonly probeHost?: ProbeHost;
  /** Where the informers' watches come from; the API server's by default. */
  readonly watch?: WatchSource;
  /** This machine's cgroup mounts (/proc/self/mountinfo) by default. */
  readonly mounts?: CgroupMounts;
  /** Kernel hierarchy ids, this machine's (/proc/cgroups) by default. */
  readonly hierarchies?: ReadonlyMap<number, Hierarchy>;
  /** Names disks by device number; from /sys by default. */
  readonly nameDisk?: NameDisk;
  /** A disk's device number by name (the inverse); from /sys by default. */
  readonly diskDevice?: (name: string) => BlockDevice | undefined;
}

export class NodeAgent {
  private readonly mounts: CgroupMounts;
  private readonly hierarchies: ReadonlyMap<number, Hierarchy>;
  private readonly hierarchyIds: ReadonlyMap<Hierarchy, number>;
  private readonly registry: CgroupRegistry;
  private readonly pods = new PodIndex();
  private readonly resolve: ResolveSubject;
  private readonly files: FileSampler;
  private readonly nameDisk: NameDisk;
  private readonly fold: FoldContext;
  private readonly probes: ProbeHost;
  private readonly state: StateStore;
  private readonly restraints: RestraintJournal;
  private readonly confirmer: Confirmer;
  private readonly runners = new Map<string, SessionRunner>();
  /** Container ids seen per victim pod UID (short-lived ones included). */
  private readonly containersSeen = new Map<string, Set<string>>();
  /** Kernel-side losses per probe since the probes were attached. */
  private readonly losses = new ProbeLosses();
  private readonly dirty = new Set<string>();
  private readonly ndInformer: Informer<NodeDiagnostic>;
  private readonly podInformer: Informer<Pod>;
  private tickTimer: Timer | undefined;
  private eventTimer: Timer | undefined;
  private ticking = false;
  private lastFileSampleMs = 0;
  /** Start of the span the next probe read covers (the previous read, or the attach). */
  private readSinceMs = 0;
  private stopped = false;
  /** Status writes failed in a row, and when the next may be tried. */
  private writeFailures = 0;
  private nextWriteAtMs = 0;

  constructor(private readonly o: NodeAgentOptions) {
    this.mounts = o.mounts ?? readCgroupMounts();
    this.hierarchies = o.hierarchies ?? readHierarchyIds();
    this.hierarchyIds = new Map([...this.hierarchies].map(([id, h]) => [h, id]));
    this.nameDisk = o.nameDisk ?? diskNamer();
    this.registry = new CgroupRegistry(o.cgroupScope);
    this.resolve = subjectResolver(this.registry, this.pods, this.hierarchies);
    this.fold = { resolve: this.resolve, nameDisk: this.nameDisk, nameThread: threadNamer() };
    this.files = new FileSampler(this.mounts, this.registry, this.pods);
    this.probes = o.probeHost ?? new ProbeHost(o.log);
    this.state = new StateStore(o.stateDir, o.log);
    this.restraints = new RestraintJournal(join(o.stateDir, 'restraints'), o.log);
    // A previous run killed mid-experiment left a pod restrained: undo that before anything.
    this.restraints.restoreLeftovers();
    this.confirmer = new Confirmer({
      mounts: this.mounts,
      registry: this.registry,
      pods: this.pods,
      journal: this.restraints,
      log: o.log,
      clock: o.clock,
      diskDevice: o.diskDevice ?? diskDevice,
    });
    const common = {
      client: o.client,
      watch: o.watch,
      clock: o.clock,
      log: o.log,
      relistMs: 5 * 60_000,
      onRelist: o.metrics.informerRelists,
    };
    const selector = `spec.nodeName=${o.nodeName}`;
    this.ndInformer = new Informer<NodeDiagnostic>({
      ...common,
      name: 'nodediagnostics',
      path: paths.nodeDiagnostics(),
      fieldSelector: selector,
      parse: (raw) => nodeDiagnosticSchema.parse(raw),
      key: (nd) => `${nd.metadata.namespace ?? ''}/${nd.metadata.name}`,
      handlers: { onChange: (nd) => this.onNodeDiagnostic(nd), onDelete: (nd) => this.onNodeDiagnosticDeleted(nd) },
    });
    this.podInformer = new Informer<Pod>({
      ...common,
      name: 'pods',
      path: paths.pods(),
      fieldSelector: selector,
      parse: (raw) => podSchema.parse(raw),
      key: (pod) => pod.metadata.uid,
      handlers: {
        onChange: (pod) => this.pods.upsert(pod),
        onDelete: (pod) => this.pods.markDeleted(pod.metadata.uid, this.o.clock.now()),
      },
    });
  }

  start(): void {
    this.podInformer.start();
    this.ndInformer.start();
    this.scheduleTick();
    this.scheduleEventPoll();
  }

  ready(): string[] {
    const reasons: string[] = [];
    if (!this.podInformer.hasSynced()) reasons.push('pods not listed yet');
    if (!this.ndInformer.hasSynced()) reasons.push('nodediagnostics not listed yet');
    return reasons;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.tickTimer?.cancel();
    this.eventTimer?.cancel();
    this.confirmer.releaseAll();
    this.probes.close();
    await Promise.all([this.ndInformer.stop(), this.podInformer.stop()]);
  }

  private onNodeDiagnostic(nd: NodeDiagnostic): void {
    const key = `${nd.metadata.namespace ?? ''}/${nd.metadata.name}`;
    const now = this.o.clock.now();
    const runner = this.runners.get(key);
    if (runner) {
      if (runner.nd.metadata.generation === nd.metadata.generation) return; // our own status write
      runner.update(nd, now);
    } else {
      const saved = nd.metadata.uid ? this.state.load(nd.metadata.uid) : undefined;
      const created = new SessionRunner(nd, now, saved);
      this.runners.set(key, created);
      this.o.log.info(created.restored ? 'session resumed after a restart' : 'session started on this node', {
        nodeDiagnostic: { name: nd.metadata.name, namespace: nd.metadata.namespace },
      });
    }
    this.reconcileProbes();
    this.dirty.add(key);
  }

  private onNodeDiagnosticDeleted(nd: NodeDiagnostic): void {
    const key = `${nd.metadata.namespace ?? ''}/${nd.metadata.name}`;
    const runner = this.runners.get(key);
    if (!runner) return;
    this.runners.delete(key);
    this.confirmer.cancel(runner);
    this.dirty.delete(key);
    if (nd.metadata.uid) this.state.remove(nd.metadata.uid);
    for (const t of runner.nd.spec.targets) {
      if (this.isVictim(t.uid)) continue;
      this.o.metrics.forgetVictim(t.namespace, t.name);
      this.containersSeen.delete(t.uid);
    }
    this.reconcileProbes();
  }

  private activeRunners(): SessionRunner[] {
    return [...this.runners.values()].filter((r) => !r.stopped);
  }

  private isVictim(uid: string): boolean {
    return this.activeRunners().some((r) => r.victimUids().includes(uid));
  }

  private reconcileProbes(): void {
    const settings = mergeSettings(this.activeRunners().map((r) => r.nd.spec));
    // While idle no lifecycle probe reported new cgroups: look at the tree before attaching
    // (to target the victims at once) and after (for cgroups made in between).
    if (settings && !this.probes.active) this.scanCgroups();
    if (this.probes.ensure(settings, this.targets())) {
      this.losses.clear();
      this.scanCgroups();
      this.readSinceMs = this.o.clock.now();
      this.files.sample(); // baselines of the cgroups found by the scan
      this.lastFileSampleMs = this.readSinceMs;
    }
    // The victims change with the sessions even when the probes stay as they are.
    this.probes.active?.setTargets(this.targets());
    this.o.metrics.probesAttached.set(this.probes.active ? 1 : 0);
    if (!settings) this.losses.clear();
  }

  private scanCgroups(): void {
    this.registry.scan(this.mounts, [...this.hierarchyIds.keys()]);
    for (const entry of this.registry.all()) this.noteContainer(entry);
  }

  /** Every cgroup of every victim pod, in each probe's hierarchy. */
  private targets(): CgroupRef[] {
    const refs: CgroupRef[] = [];
    for (const entry of this.registry.all()) {
      if (!entry.kubelet || entry.diedAtMs !== undefined || !this.isVictim(entry.kubelet.podUid)) continue;
      const hierarchyId = this.hierarchyIds.get(entry.hierarchy);
      if (hierarchyId !== undefined) refs.push({ hierarchyId, id: entry.id });
    }
    return refs;
  }

  private scheduleEventPoll(): void {
    if (this.stopped) return;
    this.eventTimer = this.o.clock.setTimer(() => {
      this.pollEvents();
      this.scheduleEventPoll();
    }, this.o.eventPollMs ?? 100);
  }

  private pollEvents(): void {
    const session = this.probes.active;
    if (!session) return;
    let targetsChanged = false;
    for (const event of session.drainEvents()) targetsChanged = this.onProbeEvent(event) || targetsChanged;
    if (targetsChanged) session.setTargets(this.targets());
  }

  /** Returns true when the event added a cgroup of a victim (targets must grow at once:
   * a container may live only 100 ms). */
  private onProbeEvent(event: ProbeEvent): boolean {
    if (event.type === 'cgroup') {
      const hierarchy = this.hierarchies.get(event.cgroup.hierarchyId);
      if (!hierarchy) return false;
      if (event.kind === 'rmdir') {
        this.registry.markDead(hierarchy, event.cgroup.id, this.o.clock.now());
        return false;
      }
      const entry = this.registry.add(hierarchy, event.cgroup.id, event.path, true);
      this.noteContainer(entry);
      return entry.kubelet !== undefined && this.isVictim(entry.kubelet.podUid);
    }
    const subject = this.resolve(event.cgroup.hierarchyId, event.cgroup.id);
    if (subject.ref.kind !== 'Pod') return false;
    const { namespace, name, uid } = subject.ref;
    const slow: SlowEvent = { ...this.describeSlowEvent(event), time: event.time.toISOString(), namespace, pod: name };
    for (const runner of this.activeRunners()) if (runner.victimUids().includes(uid)) runner.recordEvent(slow);
    return false;
  }

  /** A victim's slow operation as the status lists it (drsnoop/biosnoop/runqslower columns). */
  private describeSlowEvent(
    event: SlowIoEvent | SlowReclaimEvent | SlowRunqEvent,
  ): Pick<SlowEvent, 'probe' | 'latencyMs' | 'detail' | 'aggressor' | 'stack'> {
    const stack = 'stack' in event && event.stack ? { stack: event.stack.slice(0, 8).map((f) => f.slice(0, 96)) } : {};
    switch (event.type) {
      case 'slow-io':
        return {
          probe: 'io',
          latencyMs: event.totalNs / 1e6,
          detail: `${event.flags} ${formatBytes(event.bytes)} at sector ${event.sector} on ${this.nameDisk(event.device)} by ${event.comm} (${event.pid})`,
          ...stack,
        };
      case 'slow-reclaim':
        return {
          probe: 'memory',
          latencyMs: event.latencyNs / 1e6,
          detail: `${event.kind} reclaim of ${event.pages} pages by ${event.comm} (${event.tid})`,
          ...stack,
        };
      case 'slow-runq': {
        const held = event.holders.find((h) => h.holder.kind !== 'idle')?.holder;
        const ref =
          held?.kind === 'thread'
            ? this.fold.nameThread(held.pid).ref
            : held?.kind === 'cgroup' || held?.kind === 'writeback'
              ? this.resolve(event.cgroup.hierarchyId, held.id).ref
              : undefined;
        const how = held?.kind === 'writeback' ? ", held by kernel threads writing back the aggressor's pages" : '';
        return {
          probe: 'cpu',
          latencyMs: event.waitNs / 1e6,
          detail: `${event.comm} (${event.pid}) waited for CPU ${event.cpu}${how}`,
          ...(ref ? { aggressor: subjectText(ref).slice(0, 320) } : {}),
        };
      }
    }
  }

  /** Remembers the containers of victims (a container that lived 100 ms is still listed). */
  private noteContainer(entry: CgroupEntry): void {
    const container = entry.kubelet?.container;
    if (!entry.kubelet || !container || entry.diedAtMs !== undefined || !this.isVictim(entry.kubelet.podUid)) return;
    let seen = this.containersSeen.get(entry.kubelet.podUid);
    if (!seen) this.containersSeen.set(entry.kubelet.podUid, (seen = new Set()));
    seen.add(container.id);
  }

  /** Ticks every tickMs, and at the moment a window closes (a session's final window is
   * written at its deadline, not up to a tick later) or a confirmation phase ends (a
   * restraint lasts maxSeconds). */
  private scheduleTick(): void {
    if (this.stopped) return;
    const now = this.o.clock.now();
    const tickMs = this.o.tickMs ?? 1000;
    const moments = [...this.activeRunners().map((r) => r.closesAtMs), this.confirmer.nextStepAtMs() ?? Infinity];
    // A moment just past is one the last tick began a little before: tick again at once.
    // Timers may fire a millisecond before the wall clock reaches a moment: aim just past it.
    const due = moments
      .map((ms) => ms - now)
      .filter((ms) => ms > -tickMs)
      .map((ms) => Math.max(0, ms) + timerSlackMs);
    const delay = Math.min(tickMs, ...due);
    this.tickTimer = this.o.clock.setTimer(() => {
      void this.tick().finally(() => this.scheduleTick());
    }, delay);
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    const end = this.o.metrics.tickSeconds.startTimer();
    try {
      const now = this.o.clock.now();
      const session = this.probes.active;
      if (session) {
        this.pollEvents(); // new cgroups first, so this read resolves them
        const window = await session.read();
        this.losses.add(window.health);
        const tick = foldWindow(window, this.fold);
        // Control files cost a few reads per pod: read them every few seconds, and always
        // right before a window closes so that each window gets its share.
        const windowDue = this.activeRunners().some((r) => now >= r.closesAtMs);
        if (windowDue || now - this.lastFileSampleMs >= fileSampleMs) {
          addAll(tick, this.files.sample());
          this.lastFileSampleMs = now;
        }
        this.feed(tick, this.readSinceMs);
        this.readSinceMs = now;
        const experimented = this.confirmer.tick(tick, now);
        if (experimented) this.dirty.add(experimented.key);
        // Their final counters were in this read: dead cgroups can go.
        this.registry.forgetDead(now);
        this.o.metrics.ticks.inc();
      }
      for (const runner of this.runners.values()) {
        if (!runner.stopped && now >= runner.closesAtMs) {
          const closed = runner.closeWindow(now);
          this.dirty.add(runner.key);
          if (runner.stopped) {
            this.confirmer.cancel(runner);
            this.reconcileProbes();
          } else this.confirmer.consider(runner, closed, now);
        }
      }
      this.pods.prune(now);
      this.o.metrics.cgroups.set(this.registry.size);
      await this.writeStatuses();
    } catch (err) {
      this.o.log.error('tick failed', { err });
    } finally {
      end();
      this.ticking = false;
    }
  }

  /** Gives a read to the sessions that were running for all of it: a session that began
   * meanwhile must not count what happened before it began. */
  private feed(tick: ReadonlyMap<string, SubjectCounters>, sinceMs: number): void {
    for (const runner of this.activeRunners()) if (runner.startedAtMs <= sinceMs) runner.add(tick);
  }

  private probeHealth(runner: SessionRunner): ProbeHealth[] {
    const status = new Map<string, ProbeStatus>(this.probes.status().map((s) => [s.probe, s]));
    const spec = runner.nd.spec.probes;
    const health: ProbeHealth[] = [];
    for (const name of ['cpu', 'io', 'memory', 'cache'] as const) {
      const { reason: lossReason, ...losses } = this.losses.of(name);
      if (!spec[name].enabled) {
        health.push({ name, state: 'Disabled', lostEvents: 0, mapOverflows: 0 });
        continue;
      }
      const s = status.get(name);
      if (s?.state === 'active') {
        health.push({
          name,
          state: lossReason ? 'Degraded' : 'Active',
          ...(lossReason ? { reason: lossReason } : s.reason ? { reason: s.reason.slice(0, 256) } : {}),
          ...losses,
        });
      } else {
        const reason = s?.reason ?? this.probes.failure ?? 'probe not loaded';
        health.push({ name, state: 'Unsupported', reason: reason.slice(0, 256), ...losses });
      }
    }
    if (spec.psi.enabled) {
      const v2 = this.mounts.unifiedControllers.includes('cpu');
      health.push({
        name: 'psi',
        state: v2 ? 'Active' : 'Unsupported',
        ...(v2
          ? {}
          : { reason: 'no per-cgroup pressure files: the cpu, io and memory controllers are not on cgroup v2 here' }),
        lostEvents: 0,
        mapOverflows: 0,
      });
    } else health.push({ name: 'psi', state: 'Disabled', lostEvents: 0, mapOverflows: 0 });
    return health;
  }

  /** Writes every changed status. After a failure (the API server is away, or throttles
   * us) the next attempt waits, doubling from 1 s to 30 s; the windows keep closing and
   * the next write carries all of them. */
  private async writeStatuses(): Promise<void> {
    const now = this.o.clock.now();
    if (now < this.nextWriteAtMs) return;
    for (const key of [...this.dirty]) {
      const runner = this.runners.get(key);
      this.dirty.delete(key);
      if (!runner) continue;
      const status = runner.status({
        instance: this.o.instance,
        probes: this.probeHealth(runner),
        failure: this.probes.failure,
        backend: this.probes.backend,
        victim: (uid) => this.victimIdentity(uid),
      });
      for (const pod of status.pods ?? []) this.o.metrics.recordVictim(pod);
      const { name, namespace } = runner.nd.metadata;
      try {
        await this.o.client.apply(
          paths.nodeDiagnostics(namespace, name, 'status'),
          { apiVersion, kind: nodeDiagnosticKind, metadata: { name, namespace }, status },
          fieldManager,
        );
        this.o.metrics.statusWrites.inc({ result: 'ok' });
        // Saved after the write: a crash in between loses that window's figures, never counts them twice.
        if (runner.nd.metadata.uid) this.state.save(runner.nd.metadata.uid, runner.snapshot());
        if (this.writeFailures > 0) this.o.log.info('status writes recovered', { failures: this.writeFailures });
        this.writeFailures = 0;
        this.o.metrics.statusWriteBackoff.set(0);
      } catch (err) {
        this.o.metrics.statusWrites.inc({ result: 'error' });
        this.dirty.add(key);
        const backoffMs = Math.min(maxWriteBackoffMs, 1000 * 2 ** this.writeFailures++);
        this.nextWriteAtMs = now + backoffMs;
        this.o.metrics.statusWriteBackoff.set(backoffMs / 1000);
        this.o.log.warn('status write failed; retrying with backoff', {
          err,
          nodeDiagnostic: { name, namespace },
          failures: this.writeFailures,
          backoffSeconds: backoffMs / 1000,
        });
        return;
      }
    }
  }

  private victimIdentity(uid: string) {
    const pod = this.pods.get(uid);
    if (!pod) return undefined;
    const containers = [...(this.containersSeen.get(uid) ?? [])].map((id) => pod.containers.get(id) ?? id.slice(0, 12));
    return { namespace: pod.namespace, name: pod.name, uid, containers: [...new Set(containers)].sort() };
  }
}
