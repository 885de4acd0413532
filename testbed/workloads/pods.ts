// The pods of the common CPU scenario: a victim burning one CPU and an aggressor with three
// workers pinned to the same CPU, so that the victim waits about half of its time.
import type { HarnessPodSpec } from '../kubelet/node-harness.js';
import { cpuHog } from './commands.js';

export function cpuVictimPod(name = 'checkout', namespace = 'shop', cpus = '1'): HarnessPodSpec {
  return { name, namespace, labels: { app: name }, containers: [{ name: 'app', command: cpuHog(), cpus }] };
}

export function cpuAggressorPod(name = 'etl', namespace = 'batch', cpus = '1'): HarnessPodSpec {
  return {
    name,
    namespace,
    labels: { app: name },
    containers: [{ name: 'worker', command: cpuHog({ workers: 3 }), cpus }],
  };
}
