// What the kernel side lost since the probes were attached, per probe, and the sentence a
// Degraded probe shows in its NodeDiagnostic health and the session's ProbesHealthy
// condition: which probe, what overflowed, and what that means for its figures.
import type { ProbeHealth as WindowHealth } from './probes/index.js';

interface Counts {
  mapFull: number;
  ringDropped: number;
  queueDropped: number;
  readErrors: number;
}

export interface ProbeLoss {
  /** Events not recorded: ring buffer full, queue full, failed reads (lifecycle's too). */
  readonly lostEvents: number;
  /** Entries a full kernel map refused. */
  readonly mapOverflows: number;
  /** Set when anything was lost. */
  readonly reason?: string;
}

const zero = (): Counts => ({ mapFull: 0, ringDropped: 0, queueDropped: 0, readErrors: 0 });

export class ProbeLosses {
  private readonly counts = new Map<string, Counts>();

  add(health: readonly WindowHealth[]): void {
    for (const h of health) {
      const c = this.counts.get(h.probe) ?? zero();
      c.mapFull += h.mapFull;
      c.ringDropped += h.eventsDropped;
      c.queueDropped += h.queueDropped;
      c.readErrors += h.readErrors;
      this.counts.set(h.probe, c);
    }
  }

  clear(): void {
    this.counts.clear();
  }

  /** A probe's losses. The lifecycle probe serves every other one (it finds new and dead
   * containers), so its lost cgroup events count against each. */
  of(probe: string): ProbeLoss {
    const c = this.counts.get(probe) ?? zero();
    const cgroupEvents = this.counts.get('lifecycle')?.ringDropped ?? 0;
    const lostEvents = c.ringDropped + c.queueDropped + c.readErrors + cgroupEvents;
    const parts = [
      c.mapFull && `${c.mapFull} kernel map overflows (maps full: cgroups beyond them not counted, shares partial)`,
      c.ringDropped && `${c.ringDropped} events lost (ring buffer full)`,
      c.queueDropped && `${c.queueDropped} events not drained in time`,
      c.readErrors && `${c.readErrors} failed reads`,
      cgroupEvents && `${cgroupEvents} cgroup events lost (lifecycle ring buffer full: containers seen late)`,
    ].filter((p): p is string => typeof p === 'string');
    return {
      lostEvents,
      mapOverflows: c.mapFull,
      ...(parts.length > 0 ? { reason: parts.join('; ').slice(0, 256) } : {}),
    };
  }
}
