// crosstalk's kernel probes for the agent: ProbeSession and the typed windows and
// events it returns, plus pure helpers to read them.
export { ProbeSession, type ProbeOptions } from './session.js';
export { cacheMetrics, type CacheMetrics } from './cache-metrics.js';
export { mergeHistograms, percentileNs, slotUpperBoundNs } from './histogram.js';
export { KernelSymbols, kernelSymbols } from './kallsyms.js';
export { ProbeError, type ProgramStats } from '../native/index.js';
export type * from './types.js';
