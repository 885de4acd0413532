// The agent's Prometheus metrics. Per-pod series exist only for victims of an active
// session (at most the node's pods) and are removed when the session ends, so the label
// cardinality stays bounded by the pods on one node.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

import { relistCounter } from '../common/kube/relist-metric.js';
import { verdicts, type PodReport } from '../crds/index.js';

const podLabels = ['namespace', 'pod'] as const;

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly cpuWait = this.gauge(
    'crosstalk_victim_cpu_wait_ratio',
    'Run-queue wait of the victim over wall time, session so far.',
  );
  private readonly ioP99 = this.gauge(
    'crosstalk_victim_io_p99_seconds',
    'Block IO p99 latency of the victim, session so far.',
  );
  private readonly reclaim = this.gauge(
    'crosstalk_victim_reclaim_stall_seconds',
    'Memory reclaim stall of the victim, session so far.',
  );
  private readonly verdict = this.gauge(
    'crosstalk_victim_verdict',
    'Verdict of the victim: 0 None, 1 Low, 2 Medium, 3 High.',
  );
  readonly ticks = new Counter({
    name: 'crosstalk_agent_ticks_total',
    help: 'Probe reads.',
    registers: [this.registry],
  });
  readonly tickSeconds = new Histogram({
    name: 'crosstalk_agent_tick_seconds',
    help: 'Time to read the probes and fold one tick.',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
    registers: [this.registry],
  });
  readonly statusWrites = new Counter({
    name: 'crosstalk_agent_status_writes_total',
    help: 'NodeDiagnostic status writes, by result.',
    labelNames: ['result'],
    registers: [this.registry],
  });
  /** crosstalk_informer_relists_total, the caches' onRelist. */
  readonly informerRelists = relistCounter(this.registry);
  readonly statusWriteBackoff = new Gauge({
    name: 'crosstalk_agent_status_write_backoff_seconds',
    help: 'Wait before the next status write after failed ones (0 while writes succeed).',
    registers: [this.registry],
  });
  readonly probesAttached = new Gauge({
    name: 'crosstalk_agent_probes_attached',
    help: '1 while kernel probes are attached (a session needs this node), else 0.',
    registers: [this.registry],
  });
  readonly cgroups = new Gauge({
    name: 'crosstalk_agent_cgroups',
    help: 'Cgroups known, tombstones included.',
    registers: [this.registry],
  });

  private gauge(name: string, help: string): Gauge<(typeof podLabels)[number]> {
    return new Gauge({ name, help, labelNames: podLabels, registers: [this.registry] });
  }

  recordVictim(report: PodReport): void {
    const labels = { namespace: report.namespace, pod: report.name };
    const cpu = report.metrics?.cpu;
    if (cpu) this.cpuWait.set(labels, cpu.waitPercent / 100);
    const io = report.metrics?.io;
    if (io) this.ioP99.set(labels, io.p99LatencyMs / 1000);
    const memory = report.metrics?.memory;
    if (memory) this.reclaim.set(labels, memory.reclaimStallSeconds);
    this.verdict.set(labels, verdicts.indexOf(report.verdict));
  }

  forgetVictim(namespace: string, pod: string): void {
    for (const g of [this.cpuWait, this.ioP99, this.reclaim, this.verdict]) g.remove({ namespace, pod });
  }
}
