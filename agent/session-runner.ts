// One NodeDiagnostic on this node: its windows, its victims' reports, its slow events, and
// the status the agent writes back. The node agent feeds it ticks; it never does I/O.
import { z } from 'zod';

import {
  confirmationSchema,
  parseDuration,
  slowEventSchema,
  type Confirmation,
  type NodeDiagnostic,
  type NodeDiagnosticStatus,
  type ProbeHealth,
  type SlowEvent,
} from '../crds/index.js';
import type { SubjectCounters } from './measure/counters.js';
import { podReport, type VictimIdentity } from './report/pod-report.js';
import type { Resource } from './report/thresholds.js';
import type { AssessOptions } from './report/assess.js';
import { measureSnapshotJson, SessionMeasure, type ClosedWindow } from './windows/session-measure.js';

const interrupted = "interrupted by an agent restart; the suspect's settings were restored";

/** What an agent restart must not lose, saved after every status write. */
export const runnerSnapshotJson = z.object({
  nodeDiagnosticUid: z.string(),
  measure: measureSnapshotJson,
  lastWindow: z.object({ start: z.number(), end: z.number() }).optional(),
  events: z.array(slowEventSchema),
  eventsDropped: z.int().nonnegative(),
  confirmations: z.array(z.tuple([z.string(), confirmationSchema])).default([]),
});
export type RunnerSnapshot = z.output<typeof runnerSnapshotJson>;

export interface StatusContext {
  readonly instance: string;
  readonly probes: readonly ProbeHealth[];
  /** Set when the probes could not be loaded at all. */
  readonly failure: string | undefined;
  /** The kernel backend serving the probes (ebpf when absent). */
  readonly backend?: 'ebpf' | 'kmod';
  /** The victim as the pod informer knows it, with the containers seen so far. */
  victim(uid: string): VictimIdentity | undefined;
}

export class SessionRunner {
  private measure: SessionMeasure;
  private events: SlowEvent[] = [];
  private eventsDropped = 0;
  private lastWindow: { start: number; end: number } | undefined;
  /** Confirmation experiments by victim UID, suspect UID and resource (confirmationKey). */
  private readonly confirmations = new Map<string, Confirmation>();
  /** Whether this runner continues a session measured before an agent restart. */
  readonly restored: boolean = false;

  /** When this agent began measuring the session (reads covering earlier time are not its). */
  readonly startedAtMs: number;

  /** Starts measuring `nd`, continuing `saved` (the state before an agent restart) when it
   * belongs to the same object and the same interval and probes. */
  constructor(
    public nd: NodeDiagnostic,
    nowMs: number,
    saved?: RunnerSnapshot,
  ) {
    this.startedAtMs = nowMs;
    const fresh = this.newMeasure(nd, nowMs);
    if (saved && saved.nodeDiagnosticUid === nd.metadata.uid && saved.measure.intervalMs === fresh.intervalMs) {
      this.measure = SessionMeasure.restore(saved.measure, enabledResources(nd), nowMs, this.assessOptions(nd));
      this.lastWindow = saved.lastWindow;
      this.events = [...saved.events];
      this.eventsDropped = saved.eventsDropped;
      // An experiment the previous run left Running was cut short, never to be retried (its
      // suspect counts as tested); the new agent restored the suspect's settings first thing.
      for (const [key, c] of saved.confirmations)
        this.confirmations.set(key, c.result === 'Running' ? { ...c, result: 'Skipped', reason: interrupted } : c);
      this.restored = true;
    } else {
      this.measure = fresh;
    }
  }

  snapshot(): RunnerSnapshot {
    return {
      nodeDiagnosticUid: this.nd.metadata.uid ?? '',
      measure: this.measure.snapshot(),
      ...(this.lastWindow ? { lastWindow: this.lastWindow } : {}),
      events: [...this.events],
      eventsDropped: this.eventsDropped,
      confirmations: [...this.confirmations],
    };
  }

  get key(): string {
    return `${this.nd.metadata.namespace ?? ''}/${this.nd.metadata.name}`;
  }

  get deadlineMs(): number | undefined {
    return this.nd.spec.deadline ? Date.parse(this.nd.spec.deadline) : undefined;
  }

  /** Measurement over: the deadline passed and the last window was reported. */
  get stopped(): boolean {
    const deadline = this.deadlineMs;
    return deadline !== undefined && this.lastWindow !== undefined && this.lastWindow.end >= deadline;
  }

  victimUids(): string[] {
    return this.nd.spec.targets.map((t) => t.uid);
  }

  /** A new spec: a new interval or probe set starts a fresh measure; targets just change. */
  update(nd: NodeDiagnostic, nowMs: number): void {
    const old = this.nd.spec;
    this.nd = nd;
    if (old.interval !== nd.spec.interval || JSON.stringify(old.probes) !== JSON.stringify(nd.spec.probes)) {
      this.measure = this.newMeasure(nd, nowMs);
    }
  }

  add(tick: ReadonlyMap<string, SubjectCounters>): void {
    if (!this.stopped) this.measure.add(tick);
  }

  /** When the window in progress must be closed: its end, or the deadline if sooner. */
  get closesAtMs(): number {
    const deadline = this.deadlineMs;
    return deadline === undefined ? this.measure.windowEndMs : Math.min(deadline, this.measure.windowEndMs);
  }

  /** Closes the window in progress (at its end, or at the deadline). */
  closeWindow(nowMs: number): ClosedWindow {
    const end = Math.min(nowMs, this.deadlineMs ?? Infinity);
    const closed = this.measure.closeWindow(this.victimUids(), Math.max(end, this.measure.windowStartedMs));
    this.lastWindow = { start: closed.startMs, end: closed.endMs };
    return closed;
  }

  /** A confirmation of a victim's suspect: its latest state (Running until judged). */
  recordConfirmation(victimUid: string, resource: Resource, confirmation: Confirmation): void {
    this.confirmations.set(confirmationKey(victimUid, confirmation.suspect.uid, resource), confirmation);
  }

  /** Whether the suspect was tested (or skipped) already this session: once per suspect. */
  testedSuspect(suspectUid: string, resource: Resource): boolean {
    return [...this.confirmations.keys()].some((k) => k.endsWith(`/${suspectUid}/${resource}`));
  }

  recordEvent(event: SlowEvent): void {
    const max = this.nd.spec.maxEvents;
    this.events.push(event);
    if (this.events.length > max) {
      this.events.splice(0, this.events.length - max);
      this.eventsDropped++;
    }
  }

  private assessOptions(nd: NodeDiagnostic): AssessOptions {
    return { runqThresholdNs: parseDuration(nd.spec.probes.cpu.runqLatencyThreshold) * 1e6 };
  }

  private newMeasure(nd: NodeDiagnostic, nowMs: number): SessionMeasure {
    const epoch = Date.parse(nd.metadata.creationTimestamp ?? '') || nowMs;
    return new SessionMeasure(
      parseDuration(nd.spec.interval),
      epoch,
      nowMs,
      enabledResources(nd),
      this.assessOptions(nd),
    );
  }

  status(ctx: StatusContext): NodeDiagnosticStatus {
    const m = this.measure;
    const base: NodeDiagnosticStatus = {
      observedGeneration: this.nd.metadata.generation ?? 0,
      phase: ctx.failure ? 'Failed' : this.stopped ? 'Stopped' : 'Measuring',
      ...(ctx.failure ? { message: ctx.failure } : {}),
      agent: { instance: ctx.instance },
      backend: ctx.backend ?? 'ebpf',
      probes: [...ctx.probes],
    };
    if (!this.lastWindow) return base;
    const pods = this.nd.spec.targets.map((t) => {
      const identity = ctx.victim(t.uid) ?? { ...t, containers: [] };
      const confirmed = (suspectUid: string, resource: Resource) =>
        this.confirmations.get(confirmationKey(t.uid, suspectUid, resource));
      return podReport(identity, m.summary(t.uid), m.coveredWallNs, confirmed);
    });
    return {
      ...base,
      window: {
        intervalSeconds: m.intervalMs / 1000,
        sequence: m.sequence,
        windowsReported: m.windowsReported,
        firstStart: new Date(m.firstStartMs).toISOString(),
        start: new Date(this.lastWindow.start).toISOString(),
        end: new Date(this.lastWindow.end).toISOString(),
        ...(this.stopped ? { final: true } : {}),
      },
      pods,
      events: [...this.events],
      eventsDropped: this.eventsDropped,
    };
  }
}

function confirmationKey(victimUid: string, suspectUid: string, resource: Resource): string {
  return `${victimUid}/${suspectUid}/${resource}`;
}

function enabledResources(nd: NodeDiagnostic): Set<Resource> {
  return new Set((['cpu', 'io', 'memory', 'cache'] as const).filter((r) => nd.spec.probes[r].enabled));
}
