import { expect } from 'chai';

import { sessionLimits } from '../../../crds/diagnostic-session.js';
import {
  nodeDiagnosticSpecSchema,
  nodeDiagnosticStatusSchema,
  nodeLimits,
  type NodeDiagnosticStatus,
} from '../../../crds/node-diagnostic.js';
import { limits, type PodReport } from '../../../crds/report.js';

const t = '2026-11-25T12:00:00.000Z';
const text = (n: number) => 'x'.repeat(n);

/** A report with every list full and every string at its limit: the worst case for size. */
function maximalPod(i: number): PodReport {
  const podRef = {
    namespace: text(63),
    name: text(253),
    uid: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
  };
  return {
    ...podRef,
    containers: Array.from({ length: limits.containers }, () => text(63)),
    verdict: 'High',
    score: 99.99,
    scores: { cpu: 99.99, io: 99.99, memory: 99.99, cache: 99.99 },
    metrics: {
      cpu: {
        runqWaitSeconds: 1234.5678,
        waitPercent: 99.99,
        runqP99Ms: 123.456,
        involuntaryPreemptions: 123456789,
        throttledSeconds: 12.345,
      },
      io: {
        p99LatencyMs: 12.345,
        delayedPercent: 99.99,
        delayedSeconds: 1234.5678,
        ops: 123456789,
        bytes: 123456789012,
      },
      memory: { reclaimStallSeconds: 1.2345, reclaimedPages: 123456789, stallPercent: 12.34 },
      cache: { cpi: 1.2345, llcHitPercent: 12.34, mpki: 12.34, baseline: 'QuietWindows', baselineCpi: 1.2345 },
      psi: {
        cpu: { somePercent: 12.34, fullPercent: 12.34 },
        memory: { somePercent: 12.34, fullPercent: 12.34 },
        io: { somePercent: 12.34, fullPercent: 12.34 },
      },
    },
    selfInflicted: Array.from({ length: limits.selfInflicted }, () => ({
      resource: 'cpu' as const,
      cause: 'CPUQuota' as const,
      seconds: 1234.5678,
      percent: 99.99,
      evidence: text(limits.evidence),
    })),
    aggressors: Array.from({ length: limits.aggressors }, () => ({
      pod: podRef,
      resource: 'cpu' as const,
      sharePercent: 12.34,
      evidence: text(limits.evidence),
    })),
    lastWindow: { verdict: 'High', score: 99.99 },
  };
}

describe('NodeDiagnostic schemas', function () {
  it('parse a spec as the operator writes it, defaults filled', function () {
    const spec = nodeDiagnosticSpecSchema.parse({
      nodeName: 'node-a',
      session: { name: 'checkout', uid: 'u-1' },
      interval: '10s',
      targets: [{ namespace: 'shop', name: 'checkout-1', uid: 'p-1' }],
    });
    expect(spec.probes.cpu.enabled).to.be.true;
    expect(spec.maxEvents).to.equal(50);
  });

  it('parse a status as an agent writes it', function () {
    const status: NodeDiagnosticStatus = nodeDiagnosticStatusSchema.parse({
      observedGeneration: 1,
      phase: 'Measuring',
      agent: { instance: 'crosstalk-agent-x7', version: '0.1.0' },
      backend: 'ebpf',
      window: { intervalSeconds: 10, sequence: 4, windowsReported: 4, firstStart: t, start: t, end: t },
      probes: [
        { name: 'cpu', state: 'Active' },
        { name: 'cache', state: 'Unsupported', reason: 'no hardware PMU' },
      ],
      pods: [{ namespace: 'shop', name: 'checkout-1', uid: 'p-1', verdict: 'None', score: 0 }],
      events: [{ time: t, probe: 'cpu', namespace: 'shop', pod: 'checkout-1', latencyMs: 12.5 }],
    });
    expect(status.probes?.[0]?.lostEvents).to.equal(0);
  });

  it('refuse an aggressor that names both a pod and a cgroup, or neither', function () {
    const pod = (aggressor: object) => ({
      namespace: 'shop',
      name: 'a',
      uid: 'p',
      verdict: 'High',
      score: 70,
      aggressors: [{ resource: 'io', sharePercent: 50, evidence: 'wrote a lot', ...aggressor }],
    });
    const both = { pod: { namespace: 'b', name: 'c', uid: 'd' }, cgroup: '/system.slice/x.service' };
    expect(nodeDiagnosticStatusSchema.safeParse({ pods: [pod(both)] }).success).to.be.false;
    expect(nodeDiagnosticStatusSchema.safeParse({ pods: [pod({})] }).success).to.be.false;
    expect(nodeDiagnosticStatusSchema.safeParse({ pods: [pod({ cgroup: '/system.slice/x.service' })] }).success).to.be
      .true;
  });

  it('stay far under the 1.5 MiB etcd limit when every list is full', function () {
    const status = {
      observedGeneration: 123456,
      phase: 'Measuring',
      message: text(1024),
      agent: { instance: text(253), version: text(64) },
      backend: 'ebpf',
      window: { intervalSeconds: 10, sequence: 123456789, windowsReported: 123456789, firstStart: t, start: t, end: t },
      probes: (['cpu', 'io', 'memory', 'cache', 'psi'] as const).map((name) => ({
        name,
        state: 'Degraded' as const,
        reason: text(256),
        lostEvents: 123456789,
        mapOverflows: 123456789,
      })),
      pods: Array.from({ length: nodeLimits.targets }, (_, i) => maximalPod(i)),
      events: Array.from({ length: sessionLimits.maxEvents }, () => ({
        time: t,
        probe: 'io' as const,
        namespace: text(63),
        pod: text(253),
        container: text(63),
        latencyMs: 123.456,
        detail: text(160),
        aggressor: text(limits.cgroupPath),
        stack: Array.from({ length: nodeLimits.stackFrames }, () => text(nodeLimits.frame)),
      })),
      eventsDropped: 123456789,
    };
    expect(nodeDiagnosticStatusSchema.safeParse(status).success).to.be.true;
    const bytes = Buffer.byteLength(JSON.stringify(status));
    expect(bytes).to.be.below(1024 * 1024, `worst-case NodeDiagnostic status is ${bytes} bytes`);
  });
});
