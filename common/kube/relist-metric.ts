// The informers' relists as a Prometheus counter, on the registry of the process that runs
// them (operator, agent): a relist caused by 410 Gone means a watch fell behind what the
// API server still serves.
import { Counter, type Registry } from 'prom-client';

import type { RelistReason } from './informer.js';

/** Registers crosstalk_informer_relists_total{informer,reason} and returns what an
 * informer's onRelist calls. */
export function relistCounter(registry: Registry): (informer: string, reason: RelistReason) => void {
  const relists = new Counter({
    name: 'crosstalk_informer_relists_total',
    help: 'Full relists of a cache after its first list, by informer and reason: Expired (the API server answered 410 Gone to a resumed watch), Resync (the periodic relist).',
    labelNames: ['informer', 'reason'] as const,
    registers: [registry],
  });
  return (informer, reason) => relists.inc({ informer, reason });
}
