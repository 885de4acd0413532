// The agent's own cost, from real probes: with the cpu probe attached through a ProbeHost
// that holds the kernel's BPF run-time accounting, the metrics name each program with a
// non-zero run count and run time; detaching puts the accounting back as it was.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';

import { Registry } from 'prom-client';

import { bpfStatsSysctl, KernelBpfStats, ProbeCostMetrics } from '../../../agent/probe-cost.js';
import { ProbeHost } from '../../../agent/probe-host.js';
import { quietLog } from '../../support/quiet-log.js';
import { sleep, useProbeFixture } from './workloads.js';

async function values(registry: Registry, name: string): Promise<Map<string, number>> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return new Map(metric?.values.map((v) => [String(v.labels.program), v.value]));
}

describe('probe cost metrics (real eBPF)', function () {
  const fixture = useProbeFixture();

  it('counts the run time and runs of each attached program', async function () {
    const f = fixture();
    const before = readFileSync(bpfStatsSysctl, 'utf8').trim();
    const host = new ProbeHost(quietLog, (o) => f.open(o), new KernelBpfStats());
    const registry = new Registry();
    new ProbeCostMetrics(registry, host);
    const victim = f.cgroup('victim');
    try {
      host.ensure({ probes: ['cpu'], runqSlowNs: 10e6, ioSlowNs: 10e6, reclaimSlowNs: 10e6, captureStacks: false }, [
        { hierarchyId: 0, id: victim.id('unified') },
      ]);
      expect(host.active, host.failure).to.not.equal(undefined);
      expect(readFileSync(bpfStatsSysctl, 'utf8').trim(), 'accounting on while attached').to.equal('1');
      await values(registry, 'crosstalk_probe_runs_total');
      const burner = f.burner(victim, 0);
      await sleep(500);
      await f.stop(burner);
      const runs = await values(registry, 'crosstalk_probe_runs_total');
      const seconds = await values(registry, 'crosstalk_probe_run_seconds_total');
      const switches = [...runs.keys()].find((p) => /^cpu_switch/.test(p));
      expect(switches, `programs: ${[...runs.keys()].join(', ')}`).to.not.equal(undefined);
      expect(runs.get(switches!)).to.be.greaterThan(0);
      expect(seconds.get(switches!)).to.be.greaterThan(0);
      const share = (await registry.getMetricsAsJSON()).find((m) => m.name === 'crosstalk_agent_cpu_ratio');
      expect(share?.values[0]?.value).to.be.within(0, 2);
    } finally {
      host.close();
    }
    expect(readFileSync(bpfStatsSysctl, 'utf8').trim(), 'accounting as before').to.equal(before);
  });
});
