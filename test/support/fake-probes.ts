// Kernel probes that hand out what a test recorded: each read() the next queued window
// (an empty one when none is queued), each drainEvents() the events queued since.
import type { Probes } from '../../agent/probe-host.js';
import type {
  CgroupRef,
  ProbeError,
  ProbeEvent,
  ProbeOptions,
  ProbeStatus,
  ProbeWindow,
  ProgramStats,
} from '../../agent/probes/index.js';

export class FakeProbes implements Probes {
  readonly windows: ProbeWindow[] = [];
  readonly events: ProbeEvent[] = [];
  /** Every target list set, in order. */
  readonly targetSets: CgroupRef[][] = [];
  attached = false;
  closed = false;

  constructor(readonly options: ProbeOptions) {}

  get targets(): readonly CgroupRef[] {
    return this.targetSets.at(-1) ?? [];
  }

  status(): ProbeStatus[] {
    return this.options.probes.map((probe) => ({ probe, state: this.attached ? 'active' : 'loaded', hierarchyId: 0 }));
  }

  setTargets(targets: readonly CgroupRef[]): void {
    this.targetSets.push([...targets]);
  }

  attach(): void {
    this.attached = true;
  }

  read(): Promise<ProbeWindow> {
    return Promise.resolve(this.windows.shift() ?? emptyWindow);
  }

  drainEvents(): ProbeEvent[] {
    return this.events.splice(0);
  }

  programStats(): ProgramStats[] {
    return [];
  }

  close(): void {
    this.closed = true;
  }
}

/** Opens FakeProbes, or fails as the kernel refused them (`refuse`). */
export class FakeProbeLoader {
  readonly opened: FakeProbes[] = [];
  refuse: ProbeError | undefined;

  readonly open = (options: ProbeOptions): FakeProbes => {
    if (this.refuse) throw this.refuse;
    const probes = new FakeProbes(options);
    this.opened.push(probes);
    return probes;
  };

  /** The probes attached now, if any. */
  get active(): FakeProbes | undefined {
    return this.opened.find((p) => p.attached && !p.closed);
  }
}

/** A one-second probe read with these sections (cpu, io, memory, cache) and no losses. */
export function probeRead(sections: Pick<ProbeWindow, 'cpu' | 'io' | 'memory' | 'cache'>): ProbeWindow {
  return { startNs: 0n, endNs: 1_000_000_000n, durationNs: 1e9, health: [], ...sections };
}

const emptyWindow = probeRead({});
