// What diagnosis costs on this node, as the agent's own metrics, so a user sees it beside
// what it found: the kernel's run time and run count of every attached BPF program, and
// the share of one core the agent process itself used.
//
// The kernel counts program run time only while kernel.bpf_stats_enabled is 1, and that
// accounting costs two clock reads per program run, so the agent switches it on only
// while its probes are attached and puts back what it found when they are detached.
import { readFileSync, writeFileSync } from 'node:fs';

import { Counter, Gauge, type Registry } from 'prom-client';

import type { ProgramStats } from './probes/index.js';

export const bpfStatsSysctl = '/proc/sys/kernel/bpf_stats_enabled';

/** Turns the kernel's BPF run-time accounting on for as long as someone holds it. */
export class KernelBpfStats {
  private holders = 0;
  private previous: string | undefined;

  constructor(private readonly path = bpfStatsSysctl) {}

  /** Enables the accounting (if it was off); returns the release, which is idempotent. */
  hold(): () => void {
    if (this.holders++ === 0) {
      this.previous = readFileSync(this.path, 'utf8').trim();
      if (this.previous !== '1') writeFileSync(this.path, '1');
    }
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--this.holders === 0 && this.previous !== undefined && this.previous !== '1')
        writeFileSync(this.path, this.previous);
    };
  }
}

/** The attached probes (a new object on every load), or undefined while none are. */
export interface ProgramStatsSource {
  readonly active: { programStats(): readonly ProgramStats[] } | undefined;
}

/** CPU time and wall time of this process, for the share of a core it used. */
export interface ProcessClock {
  cpuMicros(): number;
  wallMicros(): number;
}

const processClock: ProcessClock = {
  cpuMicros: () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  },
  wallMicros: () => Number(process.hrtime.bigint() / 1000n),
};

/** The share of a core is measured over at least this long (scrapes come more often). */
const cpuWindowMicros = 10e6;

export class ProbeCostMetrics {
  /** Kernel counters at the previous scrape, per program, of the session they came from:
   * a reload starts the kernel's counters at zero, the exported counters go on. */
  private last = new Map<string, ProgramStats>();
  private lastSession: object | undefined;
  private samples: { cpu: number; wall: number }[];

  constructor(
    registry: Registry,
    private readonly source: ProgramStatsSource,
    private readonly clock: ProcessClock = processClock,
  ) {
    this.samples = [{ cpu: clock.cpuMicros(), wall: clock.wallMicros() }];
    const labelNames = ['program', 'probe'] as const;
    const runSeconds: Counter<'program' | 'probe'> = new Counter({
      name: 'crosstalk_probe_run_seconds_total',
      help: 'Time the kernel spent in each crosstalk BPF program (counted only while probes are attached).',
      labelNames,
      registers: [registry],
      collect: (): void => this.collectPrograms(runSeconds, runs),
    });
    const runs = new Counter({
      name: 'crosstalk_probe_runs_total',
      help: 'Runs of each crosstalk BPF program (counted only while probes are attached).',
      labelNames,
      registers: [registry],
    });
    const share: Gauge = new Gauge({
      name: 'crosstalk_agent_cpu_ratio',
      help: 'Share of one core the agent process used (user + system), over the last 10 s or more.',
      registers: [registry],
      collect: (): void => share.set(this.cpuShare()),
    });
  }

  private collectPrograms(runSeconds: Counter<'program' | 'probe'>, runs: Counter<'program' | 'probe'>): void {
    const session = this.source.active;
    if (!session) return;
    if (session !== this.lastSession) this.last = new Map();
    this.lastSession = session;
    for (const p of session.programStats()) {
      const before = this.last.get(p.name);
      const labels = { program: p.name, probe: p.probe };
      runSeconds.inc(labels, Number(p.runTimeNs - (before?.runTimeNs ?? 0n)) / 1e9);
      runs.inc(labels, Number(p.runCount - (before?.runCount ?? 0n)));
      this.last.set(p.name, p);
    }
  }

  private cpuShare(): number {
    const now = { cpu: this.clock.cpuMicros(), wall: this.clock.wallMicros() };
    // Keep the newest sample at least a window old as the base, and one more per half window.
    while (this.samples.length > 1 && now.wall - this.samples[1]!.wall >= cpuWindowMicros) this.samples.shift();
    if (now.wall - this.samples.at(-1)!.wall >= cpuWindowMicros / 2) this.samples.push(now);
    const base = this.samples[0]!;
    const wall = now.wall - base.wall;
    return wall > 0 ? (now.cpu - base.cpu) / wall : 0;
  }
}
