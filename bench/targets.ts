// Issue 19's targets, each judged from one run's figures (ratios within that run).
import { programCost, slowdown, type AgentFigures, type ProbeFigures } from './figures.js';

export interface Target {
  readonly name: string;
  readonly measured: string;
  /** undefined: this run does not measure it. */
  readonly met: boolean | undefined;
}

const victim = 'crosstalk, load is a victim';
const noVictim = 'crosstalk, no victim';
const bpftrace = 'bpftrace';

function atMost(name: string, value: number | undefined, limit: number, unit: string, context = ''): Target {
  if (value === undefined) return { name, measured: 'not in this run', met: undefined };
  const digits = unit === 'x' ? 2 : 0;
  return {
    name,
    measured: `${value.toFixed(digits)}${unit === 'x' ? 'x' : ` ${unit}`}${context}`,
    met: value <= limit,
  };
}

export function assessTargets(p: ProbeFigures, agent: AgentFigures | undefined): Target[] {
  const peer = (program: RegExp) => {
    const ns = programCost(p, bpftrace, program);
    return ns === undefined ? '' : ` (bpftrace ${ns.toFixed(0)} ns)`;
  };
  const peerLoad = slowdown(p, bpftrace);
  const targets = [
    atMost(
      'sched_switch, the load a victim ≤ 150 ns',
      programCost(p, victim, /^cpu_switch/),
      150,
      'ns',
      peer(/sched_switch#/),
    ),
    atMost('sched_switch, no victim ≤ 100 ns', programCost(p, noVictim, /^cpu_switch/), 100, 'ns'),
    atMost(
      'sched_wakeup, the load a victim ≤ 80 ns',
      programCost(p, victim, /^cpu_wakeup_(btf|raw)/),
      80,
      'ns',
      peer(/sched_wakeup#/),
    ),
    atMost('sched_wakeup, no victim ≤ 80 ns', programCost(p, noVictim, /^cpu_wakeup_(btf|raw)/), 80, 'ns'),
    // As a node pays it: the agent keeps bpf_stats on during a session for its cost metrics.
    atMost(
      'the load ≤ 1.10x slower, a victim',
      slowdown(p, victim, true),
      1.1,
      'x',
      ` with bpf_stats on as the agent runs (${slowdown(p, victim)?.toFixed(2) ?? '?'}x off` +
        (peerLoad === undefined ? ')' : `; bpftrace ${peerLoad.toFixed(2)}x)`),
    ),
    atMost(
      'the load ≤ 1.10x slower, no victim',
      slowdown(p, noVictim, true),
      1.1,
      'x',
      ` with bpf_stats on (${slowdown(p, noVictim)?.toFixed(2) ?? '?'}x off)`,
    ),
  ];
  if (!agent) return targets;
  const pods = `${agent.staticCount} pods, ${agent.churnPerSecond} new containers/s, ${(agent.meanSwitchesPerSecond / 1000).toFixed(0)}k switches/s`;
  const growth = agent.lastRssMiB - agent.samples[0]!.rssMiB;
  return [
    ...targets,
    atMost('agent idle (no session) ≤ 60 MiB RSS', agent.idleRssMiB, 60, 'MiB'),
    atMost(`agent ≤ 100 MiB RSS (${pods})`, agent.maxRssMiB, 100, 'MiB', ' (highest sample)'),
    atMost(`agent < 1% of a core (${pods})`, agent.meanCpuPercent, 1, '%', ' (mean)'),
    {
      name: 'agent memory flat over a 10-minute churn',
      measured: `${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MiB over ${agent.seconds} s`,
      met: agent.seconds >= 600 ? growth <= 0.05 * agent.samples[0]!.rssMiB : undefined,
    },
    {
      name: 'operator: 1,000 nodes, session reflects the last write within 2 s',
      measured: 'see Operator',
      met: undefined,
    },
  ];
}
