import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Registry } from 'prom-client';

import { KernelBpfStats, ProbeCostMetrics, type ProcessClock } from '../../../agent/probe-cost.js';
import type { ProgramStats } from '../../../agent/probes/index.js';

/** Programs whose kernel counters the test sets. */
class Programs {
  stats: ProgramStats[] = [];
  programStats(): ProgramStats[] {
    return this.stats;
  }
}

function program(name: string, runTimeNs: bigint, runCount: bigint): ProgramStats {
  return { name, probe: 'cpu', runTimeNs, runCount, recursionMisses: 0n };
}

async function value(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

describe('probe cost', function () {
  describe('KernelBpfStats', function () {
    let dir: string;
    let sysctl: string;
    beforeEach(function () {
      dir = mkdtempSync(join(tmpdir(), 'crosstalk-bpf-stats-'));
      sysctl = join(dir, 'bpf_stats_enabled');
    });
    afterEach(function () {
      rmSync(dir, { recursive: true, force: true });
    });

    it('switches the accounting on while held and back off after the last release', function () {
      writeFileSync(sysctl, '0\n');
      const stats = new KernelBpfStats(sysctl);
      const first = stats.hold();
      const second = stats.hold();
      expect(readFileSync(sysctl, 'utf8').trim()).to.equal('1');
      first();
      first();
      expect(readFileSync(sysctl, 'utf8').trim(), 'one holder left').to.equal('1');
      second();
      expect(readFileSync(sysctl, 'utf8').trim()).to.equal('0');
    });

    it('leaves the accounting on when someone else had switched it on', function () {
      writeFileSync(sysctl, '1\n');
      new KernelBpfStats(sysctl).hold()();
      expect(readFileSync(sysctl, 'utf8').trim()).to.equal('1');
    });
  });

  describe('ProbeCostMetrics', function () {
    it('counts each program from the kernel counters, across a reload', async function () {
      const registry = new Registry();
      const host: { active: Programs | undefined } = { active: undefined };
      new ProbeCostMetrics(registry, host);
      expect(await value(registry, 'crosstalk_probe_runs_total'), 'nothing attached').to.equal(undefined);

      host.active = new Programs();
      host.active.stats = [program('cpu_switch', 2_000_000_000n, 10n)];
      expect(await value(registry, 'crosstalk_probe_runs_total', { program: 'cpu_switch' })).to.equal(10);
      host.active.stats = [program('cpu_switch', 3_000_000_000n, 25n)];
      expect(await value(registry, 'crosstalk_probe_runs_total', { program: 'cpu_switch' })).to.equal(25);
      expect(await value(registry, 'crosstalk_probe_run_seconds_total', { program: 'cpu_switch' })).to.equal(3);

      // A reload: the kernel's counters start again from zero, the exported ones go on.
      host.active = new Programs();
      host.active.stats = [program('cpu_switch', 500_000_000n, 30n)];
      expect(await value(registry, 'crosstalk_probe_runs_total', { program: 'cpu_switch' })).to.equal(55);
      expect(await value(registry, 'crosstalk_probe_run_seconds_total', { program: 'cpu_switch' })).to.equal(3.5);
    });

    it('reports the share of a core used over at least ten seconds', async function () {
      const registry = new Registry();
      const t = { cpu: 0, wall: 0 };
      const clock: ProcessClock = { cpuMicros: () => t.cpu, wallMicros: () => t.wall };
      new ProbeCostMetrics(registry, { active: undefined }, clock);
      Object.assign(t, { cpu: 1e6, wall: 4e6 });
      expect(await value(registry, 'crosstalk_agent_cpu_ratio'), 'since start').to.equal(0.25);
      Object.assign(t, { cpu: 2e6, wall: 20e6 });
      expect(await value(registry, 'crosstalk_agent_cpu_ratio')).to.equal(0.1);
      // 5 s later the base stays at 0 s: the 20 s sample is not 10 s old yet.
      Object.assign(t, { cpu: 2.5e6, wall: 25e6 });
      expect(await value(registry, 'crosstalk_agent_cpu_ratio')).to.equal(0.1);
      Object.assign(t, { cpu: 4e6, wall: 35e6 });
      expect(await value(registry, 'crosstalk_agent_cpu_ratio'), 'over 25 s..35 s').to.equal(0.15);
    });
  });
});
