// The CPUs the flusher kworkers may run on. The writeback workqueue is unbound (WQ_SYSFS):
// left free, its kworkers take whichever CPU is idle, and tests that need them on a
// victim's CPU confine them there, restoring the node's mask afterwards.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export const writebackCpumaskPath = '/sys/devices/virtual/workqueue/writeback/cpumask';

/** Why the flushers cannot be confined here, or undefined. */
export function missingWritebackCpumask(): string | undefined {
  return existsSync(writebackCpumaskPath) ? undefined : `needs ${writebackCpumaskPath}`;
}

/** Confines the flushers to the CPUs of a hex mask; returns what restores the previous one. */
export function confineWriteback(hexMask: string): () => void {
  const previous = readFileSync(writebackCpumaskPath, 'utf8').trim();
  writeFileSync(writebackCpumaskPath, hexMask);
  return () => writeFileSync(writebackCpumaskPath, previous);
}
