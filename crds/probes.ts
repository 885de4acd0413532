// Probe settings: what a session asks each node to measure. The session carries them and
// the operator copies them, defaults filled in, into every NodeDiagnostic's spec.
import { z } from 'zod';

import { goDurationPattern, parseDuration } from './duration.js';
import { defaulted, withRules, type CrossFieldRule } from './meta.js';

export const probeNames = ['cpu', 'io', 'memory', 'cache', 'psi'] as const;
export type ProbeName = (typeof probeNames)[number];

/** A Go duration string (`30s`, `5m`, `250ms`). */
export function durationString(description: string) {
  return z.string().max(32).regex(new RegExp(goDurationPattern)).describe(description);
}

/** `field` of `self` lies within [min, max] (Go durations). */
export function durationWithin<T extends Record<K, string>, K extends string>(
  field: K,
  min: string,
  max: string,
): CrossFieldRule<T> {
  return {
    rule: `duration(self.${field}) >= duration('${min}') && duration(self.${field}) <= duration('${max}')`,
    message: `${field} must be between ${min} and ${max}`,
    fieldPath: `.${field}`,
    holds: (v) => {
      const ms = parseDuration(v[field]);
      return ms >= parseDuration(min) && ms <= parseDuration(max);
    },
  };
}

const enabled = z.boolean().default(true).describe('Whether this probe runs.');

export const cpuProbeSchema = withRules(
  z.object({
    enabled,
    runqLatencyThreshold: durationString(
      'A run-queue wait longer than this is recorded as a slow event (10us to 10s).',
    ).default('5ms'),
  }),
  [durationWithin('runqLatencyThreshold', '10us', '10s')],
).describe('CPU: run-queue waits of the victims and who held the CPU meanwhile.');

export const ioProbeSchema = withRules(
  z.object({
    enabled,
    latencyThreshold: durationString(
      'A block IO slower than this (issue to completion) is recorded as a slow event (100us to 60s).',
    ).default('20ms'),
  }),
  [durationWithin('latencyThreshold', '100us', '60s')],
).describe('Block IO: latency of the victims and the IO of other cgroups on the same disks.');

export const memoryProbeSchema = withRules(
  z.object({
    enabled,
    reclaimThreshold: durationString(
      'A direct or cgroup reclaim stall longer than this is recorded as a slow event (10us to 10s).',
    ).default('1ms'),
  }),
  [durationWithin('reclaimThreshold', '10us', '10s')],
).describe('Memory: reclaim stalls of the victims and the memory growth of other cgroups.');

export const cacheProbeSchema = z
  .object({
    enabled,
    llcHitRateThresholdPercent: z
      .number()
      .min(0)
      .max(100)
      .default(80)
      .describe('A victim whose last-level-cache hit rate falls below this percentage counts as degraded.'),
    samplePeriod: z
      .int()
      .min(1000)
      .max(100_000_000)
      .default(100_000)
      .describe('Hardware counter events between samples (1000 to 100000000).'),
  })
  .describe('Cache: CPI and LLC hit rate from hardware counters (unsupported where no PMU is exposed, e.g. most VMs).');

export const psiProbeSchema = z
  .object({ enabled })
  .describe("Pressure stall information of the victims' cgroups (cgroup v2 only), corroborating the other probes.");

export const probesSchema = withRules(
  z.object({
    cpu: defaulted(cpuProbeSchema),
    io: defaulted(ioProbeSchema),
    memory: defaulted(memoryProbeSchema),
    cache: defaulted(cacheProbeSchema),
    psi: defaulted(psiProbeSchema),
  }),
  [
    {
      rule: 'self.cpu.enabled || self.io.enabled || self.memory.enabled || self.cache.enabled || self.psi.enabled',
      message: 'at least one probe must be enabled',
      holds: (p) => probeNames.some((name) => p[name].enabled),
    },
  ],
).describe('What to measure; every probe is on by default.');
export type Probes = z.output<typeof probesSchema>;

export const backends = ['auto', 'ebpf', 'kmod'] as const;
export type Backend = (typeof backends)[number];
