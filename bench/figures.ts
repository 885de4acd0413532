// The figures bench/probes.ts and bench/agent.ts write with --json, parsed (they are
// separate processes) and summarised for the report.
import { z } from 'zod';

const load = z.object({ opsPerSecond: z.number(), nsPerSwitch: z.number() });

const probeFigures = z.object({
  seconds: z.number(),
  baseline: load,
  runs: z.array(
    z.object({
      label: z.string(),
      alone: load,
      load,
      loadCounted: load,
      programs: z.array(
        z.object({
          name: z.string(),
          runs: z.number(),
          nsPerRun: z.number(),
          insns: z.number().optional(),
          jitedBytes: z.number().optional(),
        }),
      ),
    }),
  ),
});

export type ProbeFigures = z.infer<typeof probeFigures>;
export type ProbeRun = ProbeFigures['runs'][number];

export function parseProbeFigures(json: unknown): ProbeFigures {
  return probeFigures.parse(json);
}

/** The run of a configuration (by label prefix) and its program's ns per event. */
export function programCost(p: ProbeFigures, label: string, program: RegExp): number | undefined {
  return p.runs.find((r) => r.label.startsWith(label))?.programs.find((x) => program.test(x.name))?.nsPerRun;
}

/** How much slower the load ran with the configuration's programs attached than alone;
 * `bpfStats`: with kernel.bpf_stats_enabled on, as the agent keeps it during a session. */
export function slowdown(p: ProbeFigures, label: string, bpfStats = false): number | undefined {
  const run = p.runs.find((r) => r.label.startsWith(label));
  return run && (bpfStats ? run.loadCounted : run.load).nsPerSwitch / run.alone.nsPerSwitch;
}

const sample = z.object({
  t: z.number(),
  rssMiB: z.number(),
  heapUsedMiB: z.number(),
  cpuPercent: z.number(),
  reportedCpuPercent: z.number(),
  switchesPerSecond: z.number(),
});

const agentFigures = z.object({
  staticCount: z.number(),
  churnPerSecond: z.number(),
  switchesPerSecond: z.number(),
  seconds: z.number(),
  idleSeconds: z.number(),
  nodeOptions: z.string(),
  idle: z.array(sample),
  samples: z.array(sample).min(1),
});

export type AgentSample = z.infer<typeof sample>;

export interface AgentFigures extends z.infer<typeof agentFigures> {
  /** The last idle sample (the agent settled, nothing loaded). */
  readonly idleRssMiB: number;
  readonly minRssMiB: number;
  readonly maxRssMiB: number;
  readonly lastRssMiB: number;
  readonly minHeapMiB: number;
  readonly maxHeapMiB: number;
  readonly meanCpuPercent: number;
  readonly maxCpuPercent: number;
  readonly meanReportedCpuPercent: number;
  /** The node's measured context switches per second in session, on average. */
  readonly meanSwitchesPerSecond: number;
}

export function parseAgentFigures(json: unknown): AgentFigures {
  const a = agentFigures.parse(json);
  const rss = a.samples.map((s) => s.rssMiB);
  const heap = a.samples.map((s) => s.heapUsedMiB);
  const cpu = a.samples.map((s) => s.cpuPercent);
  const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
  return {
    ...a,
    idleRssMiB: a.idle.at(-1)?.rssMiB ?? Number.NaN,
    minRssMiB: Math.min(...rss),
    maxRssMiB: Math.max(...rss),
    lastRssMiB: rss.at(-1)!,
    minHeapMiB: Math.min(...heap),
    maxHeapMiB: Math.max(...heap),
    meanCpuPercent: mean(cpu),
    maxCpuPercent: Math.max(...cpu),
    meanReportedCpuPercent: mean(a.samples.map((s) => s.reportedCpuPercent)),
    meanSwitchesPerSecond: mean(a.samples.map((s) => s.switchesPerSecond)),
  };
}
