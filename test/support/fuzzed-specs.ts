// DiagnosticSession specs that no one wrote by hand, for property-based tests: valid ones
// built from the schemas' own enums and bounds, near-valid ones (a valid spec with one
// field broken: out of range, wrong type, bad duration, removed, unknown), and garbage. All
// stay far below the apiserver's request and object size limits.
import fc from 'fast-check';

import { sessionLimits } from '../../crds/diagnostic-session.js';
import { confirmLimits } from '../../crds/confirm.js';
import { labelSelectorOperators } from '../../crds/meta.js';
import { backends } from '../../crds/probes.js';

export type FuzzKind = 'valid' | 'near-valid' | 'garbage';

export interface FuzzedSpec {
  readonly kind: FuzzKind;
  /** What was broken, for near-valid specs. */
  readonly mutation?: string;
  readonly spec: unknown;
}

/** Labels of the pods a fuzz test creates; `nothing` matches none. */
export const fuzzApps = ['checkout', 'cart', 'nothing'] as const;
/** Node labels a fuzz test gives its nodes. */
export const fuzzZones = ['a', 'b', 'c'] as const;

const duration = (values: readonly string[]) => fc.constantFrom(...values);

const selector = fc.oneof(
  fc.record({ matchLabels: fc.record({ app: fc.constantFrom(...fuzzApps) }) }),
  fc.record({
    matchExpressions: fc
      .constantFrom(...labelSelectorOperators)
      .chain<{ key: string; operator: string; values?: string[] }>((operator) =>
        operator === 'In' || operator === 'NotIn'
          ? fc.record({
              key: fc.constant('app'),
              operator: fc.constant(operator),
              values: fc.uniqueArray(fc.constantFrom(...fuzzApps), { minLength: 1 }),
            })
          : fc.record({ key: fc.constant('app'), operator: fc.constant(operator) }),
      )
      .map((r) => [r]),
  }),
);

// Each threshold's bounds (crds/probes.ts) and its default.
const thresholds = {
  cpu: ['10us', '5ms', '10s'],
  io: ['100us', '20ms', '60s'],
  memory: ['10us', '1ms', '10s'],
} as const;

const probes = fc
  .record(
    {
      cpu: fc.record({ enabled: fc.boolean(), runqLatencyThreshold: duration(thresholds.cpu) }, { requiredKeys: [] }),
      io: fc.record({ enabled: fc.boolean(), latencyThreshold: duration(thresholds.io) }, { requiredKeys: [] }),
      memory: fc.record({ enabled: fc.boolean(), reclaimThreshold: duration(thresholds.memory) }, { requiredKeys: [] }),
      cache: fc.record(
        {
          enabled: fc.boolean(),
          llcHitRateThresholdPercent: fc.double({ min: 0, max: 100, noNaN: true }),
          samplePeriod: fc.integer({ min: 1000, max: 100_000_000 }),
        },
        { requiredKeys: [] },
      ),
      psi: fc.record({ enabled: fc.boolean() }, { requiredKeys: [] }),
    },
    { requiredKeys: [] },
  )
  // One probe stays on: a spec with every probe off is near-valid, not valid.
  .map((p) => ({ ...p, cpu: { ...p.cpu, enabled: true } }));

const confirm = fc.record(
  {
    enabled: fc.boolean(),
    maxSeconds: fc.integer({ min: 1, max: confirmLimits.maxSeconds }),
    minScore: fc.integer({ min: 50, max: 100 }),
    excludeNamespaces: fc.uniqueArray(fc.constantFrom('batch', 'web', 'kube-public'), { maxLength: 3 }),
    cpu: fc.record(
      { enabled: fc.boolean(), quotaMillicores: fc.integer({ min: 10, max: 1000 }) },
      { requiredKeys: [] },
    ),
    io: fc.record(
      { enabled: fc.boolean(), bytesPerSecond: fc.integer({ min: 64 * 1024, max: 1024 ** 3 }) },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

// Short durations end within seconds (the tests wait for them); `1h` keeps a session running.
const timing = fc.oneof(
  fc.record(
    { interval: duration(['1s', '1500ms']), duration: duration(['2s', '3s', '1h']) },
    { requiredKeys: ['interval'] },
  ),
  fc.record({ interval: fc.constant('2s'), duration: duration(['2s', '4s', '1h']) }, { requiredKeys: ['interval'] }),
  // The default interval (10s).
  fc.record({ duration: duration(['10s', '1h']) }, { requiredKeys: [] }),
);

export const validSpec: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    fc.record(
      {
        selector,
        namespaces: fc.uniqueArray(fc.constantFrom('fuzz', 'fuzz-b', 'absent'), {
          minLength: 1,
          maxLength: 3,
        }),
        nodeSelector: fc.record({ zone: fc.constantFrom(...fuzzZones) }),
        probes,
        backend: fc.constantFrom(...backends),
        captureStacks: fc.boolean(),
        maxEvents: fc.integer({ min: 0, max: sessionLimits.maxEvents }),
        confirm,
      },
      { requiredKeys: ['selector'] },
    ),
    timing,
  )
  .map(([spec, t]) => ({ ...spec, ...t }));

/** Every path to a value inside `value` (objects and arrays), the root excluded. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return entries.flatMap(([k, v]) => [[...prefix, k], ...paths(v, [...prefix, k])]);
}

type Mutation = readonly [name: string, replace: ((old: unknown) => unknown) | 'delete' | 'unknown-field'];

const mutations: readonly Mutation[] = [
  ['negative', () => -1],
  ['huge number', () => 1e15],
  ['fraction', () => 1.5],
  ['string', () => 'x'],
  ['empty string', () => ''],
  ['long string', () => 'a'.repeat(5000)],
  ['boolean', () => true],
  ['null', () => null],
  ['array', (old) => [old]],
  ['object', () => ({ nested: 1 })],
  ['bad duration', () => '5'],
  ['iso duration', () => 'PT5M'],
  ['negative duration', () => '-1s'],
  ['days', () => '1d'],
  ['enormous duration', () => '99999999999h'],
  ['too many items', () => Array.from({ length: 200 }, (_, i) => `ns-${i}`)],
  ['bad label key', () => ({ 'no spaces allowed!': 'x' })],
  ['removed', 'delete'],
  ['unknown field', 'unknown-field'],
];

export const nearValidSpec: fc.Arbitrary<FuzzedSpec> = fc
  .tuple(validSpec, fc.nat(), fc.constantFrom(...mutations))
  .map(([spec, n, [name, mutate]]) => {
    const all = paths(spec);
    const path = all[n % all.length]!;
    const copy = structuredClone(spec);
    let parent: Record<string | number, unknown> = copy;
    for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
    const leaf = path.at(-1)!;
    if (mutate === 'delete') delete parent[leaf];
    else if (mutate === 'unknown-field') parent[`${String(leaf)}Typo`] = parent[leaf];
    else parent[leaf] = mutate(parent[leaf]);
    return { kind: 'near-valid' as const, mutation: `${path.join('.')}: ${name}`, spec: copy };
  });

export const garbageSpec: fc.Arbitrary<FuzzedSpec> = fc
  .oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.dictionary(fc.constantFrom('selector', 'interval', 'duration', 'probes', 'maxEvents', 'x'), fc.jsonValue()),
  )
  .map((spec) => ({ kind: 'garbage' as const, spec }));

/** Half near-valid, a quarter each valid and garbage. */
export const fuzzedSpec: fc.Arbitrary<FuzzedSpec> = fc.oneof(
  { weight: 1, arbitrary: validSpec.map((spec) => ({ kind: 'valid' as const, spec })) },
  { weight: 2, arbitrary: nearValidSpec },
  { weight: 1, arbitrary: garbageSpec },
);
