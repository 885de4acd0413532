// The benchmark report's pure parts on figures recorded on the development VM.
import { expect } from 'chai';

import { agentChart, probeChart, renderPng } from '../../../bench/charts.js';
import { parseAgentFigures, parseProbeFigures } from '../../../bench/figures.js';
import { assessTargets } from '../../../bench/targets.js';

const load = (nsPerSwitch: number) => ({ opsPerSecond: 2e12 / nsPerSwitch / 1000, nsPerSwitch });
const program = (name: string, runs: number, nsPerRun: number) => ({ name, runs, nsPerRun });

// bench/probes.ts --json, 5 s, 2026-12-02 (programs trimmed to the scheduler's).
const probes = parseProbeFigures({
  seconds: 5,
  baseline: load(1990),
  runs: [
    {
      label: 'crosstalk, load is a victim',
      alone: load(1979),
      load: load(2421),
      loadCounted: load(2530),
      programs: [program('cpu_switch_btf', 7825125, 142), program('cpu_wakeup_btf', 4629184, 90)],
    },
    {
      label: 'crosstalk, no victim',
      alone: load(2000),
      load: load(2150),
      loadCounted: load(2300),
      programs: [program('cpu_switch_btf', 6108288, 101), program('cpu_wakeup_btf', 4002740, 47)],
    },
    {
      label: 'bpftrace runqlat.bt',
      alone: load(2007),
      load: load(3554),
      loadCounted: load(3600),
      programs: [program('sched_wakeup#1501', 3827211, 120), program('sched_switch#1503', 6379048, 251)],
    },
  ],
});

const sample = (t: number, rssMiB: number) => ({
  t,
  rssMiB,
  heapUsedMiB: 40,
  cpuPercent: 1.5,
  reportedCpuPercent: 1.4,
  switchesPerSecond: 48_000 + t * 100,
});
const agent = parseAgentFigures({
  staticCount: 110,
  churnPerSecond: 2,
  switchesPerSecond: 50_000,
  seconds: 15,
  idleSeconds: 4,
  nodeOptions: '',
  idle: [sample(-2, 118), sample(0, 121)],
  samples: [sample(5, 150), sample(10, 152), sample(15, 153)],
});

describe('benchmark report', function () {
  it('judges each target from the run it was measured in', function () {
    const targets = new Map(assessTargets(probes, agent).map((t) => [t.name, t]));
    const met = (prefix: string) => [...targets.values()].find((t) => t.name.startsWith(prefix))?.met;
    expect(met('sched_switch, the load a victim')).to.equal(true);
    expect(met('sched_switch, no victim'), '101 ns > 100 ns').to.equal(false);
    expect(met('sched_wakeup, the load a victim')).to.equal(false);
    expect(met('the load ≤ 1.10x slower, no victim'), '2300 / 2000 with bpf_stats on, as the agent runs').to.equal(
      false,
    );
    expect(met('the load ≤ 1.10x slower, a victim')).to.equal(false);
    expect(met('agent idle')).to.equal(false);
    expect(met('agent memory flat'), 'a 15 s run does not measure 10 minutes').to.equal(undefined);
    expect([...targets.values()].find((t) => t.name.startsWith('sched_switch, the load'))?.measured).to.equal(
      '142 ns (bpftrace 251 ns)',
    );
  });

  it('summarises the agent run: idle from the last idle sample, the session from the rest', function () {
    expect(agent.idleRssMiB).to.equal(121);
    expect([agent.minRssMiB, agent.maxRssMiB, agent.lastRssMiB]).to.deep.equal([150, 153, 153]);
    expect(agent.meanSwitchesPerSecond, 'the node rate in session, not idle').to.equal(49_000);
  });

  it('renders both charts to PNG', function () {
    for (const svg of [probeChart(probes), agentChart([agent])]) {
      const png = renderPng(svg);
      expect(png.subarray(1, 4).toString('latin1')).to.equal('PNG');
      expect(png.length).to.be.greaterThan(1000);
    }
  });
});
