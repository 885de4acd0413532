// A DiagnosticSession status as the operator writes it (the design's example: a CPU
// victim, a quiet victim and an IO victim, a self-inflicted one, and a node without a
// hardware PMU), for the report's unit test and its run against the real apiserver.
import type { SessionStatus } from '../../crds/index.js';

export const sampleSessionName = 'checkout-latency';
export const sampleNamespace = 'shop';

export const sampleSessionSpec = {
  selector: { matchLabels: { app: 'checkout' } },
  namespaces: ['shop'],
  interval: '10s',
};

const condition = (type: string, status: 'True' | 'False', reason: string, message: string) => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: '2026-11-25T12:00:00Z',
});

export const sampleStatus: SessionStatus = {
  phase: 'Running',
  observedGeneration: 1,
  startTime: '2026-11-25T12:00:00Z',
  conditions: [
    condition('SpecValid', 'True', 'Valid', 'the spec is valid'),
    condition('InterferenceDetected', 'True', 'High', 'shop/checkout-5d8b-x2 suffers High interference'),
  ],
  nodes: { total: 2, ready: 2, failed: 0, readyOfTotal: '2/2' },
  summary: {
    victims: 4,
    affected: 1,
    verdict: 'High',
    worstPod: 'shop/checkout-5d8b-x2',
    topAggressor: 'batch/etl-7f9c (cpu 81%)',
  },
  reports: [
    {
      namespace: 'shop',
      name: 'checkout-5d8b-x2',
      uid: '6b1f2f6e-0c55-4a8e-9d0a-3f1c2b7d9e01',
      node: 'node-a',
      verdict: 'High',
      score: 81,
      scores: { cpu: 81, io: 0, memory: 0 },
      metrics: {
        cpu: {
          runqWaitSeconds: 3.8,
          waitPercent: 38.2,
          runqP99Ms: 12,
          involuntaryPreemptions: 5210,
          throttledSeconds: 0,
        },
        io: { p99LatencyMs: 1.9, baselineP99Ms: 1.1, ops: 420, bytes: 1720320 },
        memory: { reclaimStallSeconds: 0, reclaimedPages: 0, stallPercent: 0 },
      },
      aggressors: [
        {
          pod: { namespace: 'batch', name: 'etl-7f9c', uid: '0f6a7d1e-3b2c-4d5e-8f90-a1b2c3d4e5f6' },
          resource: 'cpu',
          sharePercent: 81.2,
          evidence: "ran on the victim's CPU for 3.1 s of the 3.8 s the victim waited for it (81.2%)",
        },
        {
          cgroup: '/system.slice/backup.service',
          resource: 'cpu',
          sharePercent: 12,
          evidence: "ran on the victim's CPU for 456 ms of the 3.8 s the victim waited for it (12%)",
        },
      ],
      lastWindow: { verdict: 'High', score: 84 },
    },
    {
      namespace: 'shop',
      name: 'cart-66c1-zz',
      uid: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
      node: 'node-a',
      verdict: 'Medium',
      score: 55,
      scores: { cpu: 4, io: 55, memory: 30 },
      metrics: {
        cpu: { runqWaitSeconds: 0.4, waitPercent: 4, runqP99Ms: 2, involuntaryPreemptions: 80, throttledSeconds: 0 },
        io: { p99LatencyMs: 14, baselineP99Ms: 1.2, ops: 2200, bytes: 1288490188 },
        memory: { reclaimStallSeconds: 0.012, reclaimedPages: 3100, stallPercent: 0.12 },
      },
      aggressors: [
        {
          pod: { namespace: 'batch', name: 'backup-2', uid: '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f' },
          resource: 'io',
          sharePercent: 64,
          evidence: 'wrote 1.2 GiB in 9100 IOs on vda while the victim IO p99 was 14 ms (baseline 1.2 ms)',
        },
      ],
      lastWindow: { verdict: 'Low', score: 30 },
    },
    {
      namespace: 'shop',
      name: 'search-7c9d-aa',
      uid: '3f4a5b6c-7d8e-4f9a-8b1c-2d3e4f5a6b7c',
      node: 'node-b',
      verdict: 'Medium',
      score: 50,
      scores: { cpu: 50 },
      metrics: {
        cpu: {
          runqWaitSeconds: 4.1,
          waitPercent: 41,
          runqP99Ms: 90,
          involuntaryPreemptions: 51,
          throttledSeconds: 4.07,
        },
      },
      selfInflicted: [
        {
          resource: 'cpu',
          cause: 'CPUQuota',
          evidence: 'its own CPU quota: throttled for 4.07 s of 10 s; no neighbour is to blame',
        },
      ],
    },
    {
      namespace: 'shop',
      name: 'checkout-5d8b-q7',
      uid: '2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b',
      node: 'node-b',
      verdict: 'None',
      score: 2,
      metrics: {
        cpu: {
          runqWaitSeconds: 0.04,
          waitPercent: 0.4,
          runqP99Ms: 0.5,
          involuntaryPreemptions: 3,
          throttledSeconds: 0,
        },
        io: { p99LatencyMs: 1.1, baselineP99Ms: 1.1, ops: 300, bytes: 1228800 },
      },
    },
  ],
  reportsOmitted: 3,
  probeIssues: [{ node: 'node-a', probe: 'cache', state: 'Unsupported', reason: 'no hardware PMU' }],
};
