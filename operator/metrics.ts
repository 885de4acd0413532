// Prometheus metrics of one operator instance, on a registry of its own (tests can build
// several instances in one process).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

import { relistCounter } from '../common/kube/relist-metric.js';

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({
    name: 'crosstalk_operator_reconciles_total',
    help: 'Session reconciles by result: success, requeue (scheduled again), error (retried with backoff), terminal (not retried).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'crosstalk_operator_reconcile_errors_total',
    help: 'Failed session reconciles by error code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'crosstalk_operator_reconcile_duration_seconds',
    help: 'Time to reconcile one session, API calls included.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  /** crosstalk_informer_relists_total, the caches' onRelist. */
  readonly informerRelists = relistCounter(this.registry);
  readonly leader = new Gauge({
    name: 'crosstalk_operator_leader',
    help: '1 while this instance holds the leader lease.',
    registers: [this.registry],
  });

  /** Reports the queue depth at scrape time. */
  watchQueue(depth: () => number): void {
    new Gauge({
      name: 'crosstalk_operator_queue_depth',
      help: 'Session keys waiting for a worker.',
      registers: [this.registry],
      collect() {
        this.set(depth());
      },
    });
  }
}
