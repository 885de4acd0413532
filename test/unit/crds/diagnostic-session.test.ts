import { expect } from 'chai';

import { sessionSpecSchema, sessionStatusSchema } from '../../../crds/diagnostic-session.js';

function issues(input: unknown): string[] {
  const result = sessionSpecSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

const selector = { matchLabels: { app: 'checkout' } };

describe('DiagnosticSession spec schema', function () {
  it('fills every default the CRD declares', function () {
    const spec = sessionSpecSchema.parse({ selector });
    expect(spec).to.deep.equal({
      selector,
      interval: '10s',
      backend: 'auto',
      captureStacks: false,
      maxEvents: 50,
      probes: {
        cpu: { enabled: true, runqLatencyThreshold: '5ms' },
        io: { enabled: true, latencyThreshold: '20ms' },
        memory: { enabled: true, reclaimThreshold: '1ms' },
        cache: { enabled: true, llcHitRateThresholdPercent: 80, samplePeriod: 100_000 },
        psi: { enabled: true },
      },
      // Confirmation changes other workloads: off unless asked for.
      confirm: {
        enabled: false,
        maxSeconds: 5,
        minScore: 50,
        excludeNamespaces: [],
        cpu: { enabled: true, quotaMillicores: 100 },
        io: { enabled: true, bytesPerSecond: 1048576 },
      },
    });
  });

  it('accepts a complete session as a user writes it', function () {
    expect(
      issues({
        selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] },
        namespaces: ['shop', 'cart'],
        nodeSelector: { disk: 'ssd' },
        duration: '5m',
        interval: '15s',
        probes: { cache: { enabled: false }, io: { latencyThreshold: '5ms' } },
        backend: 'ebpf',
        captureStacks: true,
        maxEvents: 10,
      }),
    ).to.deep.equal([]);
  });

  it('rejects cross-field mistakes with the messages the CRD rules carry', function () {
    expect(issues({ selector })).to.deep.equal([]);
    expect(issues({ selector, duration: '5s' })).to.deep.equal([
      'duration: duration must be at least one interval long',
    ]);
    expect(issues({ selector, duration: '99999999999h' })).to.deep.equal([
      'duration: duration must be at most 8760h (a year); omit it for a continuous session',
    ]);
    expect(issues({ selector, duration: '8760h' })).to.deep.equal([]);
    expect(issues({ selector, interval: '500ms' })).to.deep.equal(['interval: interval must be between 1s and 10m']);
    expect(issues({ selector, interval: '1h' })).to.deep.equal(['interval: interval must be between 1s and 10m']);
    expect(
      issues({
        selector,
        probes: Object.fromEntries(['cpu', 'io', 'memory', 'cache', 'psi'].map((p) => [p, { enabled: false }])),
      }),
    ).to.deep.equal(['probes: at least one probe must be enabled']);
    expect(issues({ selector, probes: { cpu: { runqLatencyThreshold: '0s' } } })).to.deep.equal([
      'probes.cpu.runqLatencyThreshold: runqLatencyThreshold must be between 10us and 10s',
    ]);
    expect(issues({ selector: { matchExpressions: [{ key: 'a', operator: 'In' }] } })).to.deep.equal([
      'selector.matchExpressions.0: operators In and NotIn need at least one value; Exists and DoesNotExist take none',
    ]);
    expect(
      issues({ selector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] } }),
    ).to.have.length(1);
  });

  it('rejects wrong shapes: ISO durations, unknown backends, out-of-range numbers, bad namespaces', function () {
    expect(issues({ selector, duration: 'PT5M' })).to.have.length(1);
    expect(issues({ selector, backend: 'gpu' })).to.have.length(1);
    expect(issues({ selector, maxEvents: 101 })).to.have.length(1);
    expect(issues({ selector, probes: { cache: { llcHitRateThresholdPercent: 150 } } })).to.have.length(1);
    expect(issues({ selector, namespaces: ['Shop'] })).to.have.length(1);
    expect(issues({})).to.deep.equal(['selector: Invalid input: expected object, received undefined']);
  });
});

describe('DiagnosticSession status schema', function () {
  it('accepts a status as the operator writes it', function () {
    const result = sessionStatusSchema.safeParse({
      phase: 'Running',
      observedGeneration: 2,
      conditions: [
        {
          type: 'TargetsResolved',
          status: 'True',
          observedGeneration: 2,
          lastTransitionTime: '2026-11-25T12:00:00Z',
          reason: 'TargetsFound',
          message: '3 victim pods on 2 nodes',
        },
      ],
      startTime: '2026-11-25T12:00:00Z',
      nodes: { total: 2, ready: 2, failed: 0, readyOfTotal: '2/2' },
      summary: { victims: 3, affected: 1, verdict: 'High', worstPod: 'shop/x', topAggressor: 'batch/etl (cpu 81%)' },
      reports: [
        {
          namespace: 'shop',
          name: 'x',
          uid: 'u1',
          node: 'node-a',
          verdict: 'High',
          score: 80,
          aggressors: [
            {
              pod: { namespace: 'batch', name: 'etl', uid: 'u2' },
              resource: 'cpu',
              sharePercent: 81,
              evidence: 'held the CPU',
            },
          ],
        },
      ],
    });
    expect(result.success, JSON.stringify(result.error?.issues)).to.be.true;
  });
});
