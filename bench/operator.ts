// `npm run bench:operator [-- --nodes 1000 --api-nodes 200 --sessions 1000]`: how the
// operator scales with nodes and with sessions. Prints figures, asserts nothing.
//  1. pure: one reconcile plan over N NodeDiagnostic statuses (10 victims each), in memory;
//  2. real apiserver (root and the control-plane binaries): M fake nodes with one victim pod
//     each, the operator as a process; time until it has created M NodeDiagnostics, and
//     until the session shows M nodes ready after M agent statuses are written;
//  3. real apiserver: S sessions applied at once, one victim on its own node each; time until
//     all run and until all show their node ready after S agent statuses, the operator's
//     memory (RSS, V8 heap) and its reconcile time p50/p99 (from its histogram).
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

import type { SessionStatus } from '../crds/diagnostic-session.js';
import { sessionFinalizer } from '../crds/names.js';
import type { PodReport } from '../crds/report.js';
import { missingControlPlane } from '../testbed/cluster/binaries.js';
import { startControlPlane, type ControlPlane } from '../testbed/cluster/control-plane.js';
import { kubectl } from '../testbed/cluster/kubectl.js';
import { OperatorProcess } from '../testbed/components/operator-process.js';
import { ContentType, isAlreadyExists, KubeClient } from '../common/kube/client.js';
import type { ChildObject, PodInfo } from '../operator/kube/objects.js';
import { paths } from '../common/kube/paths.js';
import { planSession } from '../operator/session/plan.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    'api-nodes': { type: 'string', default: '200' },
    runs: { type: 'string', default: '20' },
    sessions: { type: 'string', default: '1000' },
  },
});
const nodes = Number(values.nodes);
const apiNodes = Number(values['api-nodes']);
const runs = Number(values.runs);
const sessionCount = Number(values.sessions);
const victimsPerNode = 10;
const t0 = Date.parse('2026-11-25T12:00:00Z');

function victimReport(node: number, i: number): PodReport {
  const score = (node * 37 + i * 11) % 100;
  return {
    namespace: 'shop',
    name: `victim-${node}-${i}`,
    uid: `uid-${node}-${i}`,
    verdict: score > 70 ? 'High' : score > 40 ? 'Medium' : score > 10 ? 'Low' : 'None',
    score,
    scores: { cpu: score, io: score / 2, memory: 0 },
    metrics: {
      cpu: { runqWaitSeconds: 1.5, waitPercent: 15, runqP99Ms: 12, involuntaryPreemptions: 420, throttledSeconds: 0 },
      io: { p99LatencyMs: 3.1, delayedPercent: 61, delayedSeconds: 2.4, ops: 12000, bytes: 48_000_000 },
    },
    aggressors: [1, 2, 3].map((k) => ({
      pod: { namespace: 'batch', name: `etl-${node}-${k}`, uid: `etl-${node}-${k}` },
      resource: 'cpu' as const,
      sharePercent: 60 / k,
      evidence: `held CPU ${k} for ${(3 / k).toFixed(1)} s of the victim's 3.8 s wait`,
    })),
  };
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function pureBenchmark(n: number): void {
  const pods: PodInfo[] = [];
  const children: ChildObject[] = [];
  for (let node = 0; node < n; node++) {
    const nodeName = `node-${node}`;
    const reports = Array.from({ length: victimsPerNode }, (_, i) => victimReport(node, i));
    for (const r of reports)
      pods.push({
        namespace: 'shop',
        name: r.name,
        uid: r.uid,
        labels: { app: 'victim' },
        nodeName,
        phase: 'Running',
        terminating: false,
      });
    children.push({
      metadata: {
        name: `bench-${nodeName}`,
        namespace: 'shop',
        generation: 1,
        labels: { 'app.kubernetes.io/managed-by': 'crosstalk', 'crosstalk.dev/session-uid': 'session-uid' },
        ownerReferences: [
          {
            apiVersion: 'crosstalk.dev/v1alpha1',
            kind: 'DiagnosticSession',
            name: 'bench',
            uid: 'session-uid',
            controller: true,
          },
        ],
      },
      nodeName,
      spec: undefined,
      status: { observedGeneration: 1, phase: 'Measuring', pods: reports },
    });
  }
  const session = {
    metadata: { name: 'bench', namespace: 'shop', uid: 'session-uid', generation: 1, finalizers: [sessionFinalizer] },
    spec: { selector: { matchLabels: { app: 'victim' } } },
    status: { startTime: new Date(t0).toISOString() } satisfies SessionStatus,
  };
  const observe = (list: ChildObject[]) => ({
    session,
    children: list,
    podsIn: () => pods,
    nodes: new Map(),
    nameTaken: () => false,
    now: t0 + 60_000,
  });
  // The first plan also yields the specs the children would have; give them those.
  const first = planSession(observe(children));
  const specs = new Map(first.children.apply.map((m) => [m.spec.nodeName, m.spec]));
  // Fresh status objects: the first timed plan parses every status (a cold start).
  let settled = children.map((c) => ({ ...c, spec: specs.get(c.nodeName), status: structuredClone(c.status) }));

  const time = () => {
    const started = performance.now();
    const status = planSession(observe(settled)).status;
    return { ms: performance.now() - started, status };
  };
  const cold = time();
  // Steady state: between two reconciles one agent has written a new status.
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const changed = i % n;
    settled = settled.map((c, j) => (j === changed ? { ...c, status: structuredClone(c.status) } : c));
    times.push(time().ms);
  }
  const ms = median(times);
  const status = cold.status;
  console.log(
    `pure plan: ${n} nodes x ${victimsPerNode} victims = ${n * victimsPerNode} reports: first reconcile ${cold.ms.toFixed(1)} ms ` +
      `(every status parsed), then ${ms.toFixed(1)} ms per reconcile after one node's update (median of ${runs}); ` +
      `session status ${(JSON.stringify(status).length / 1024).toFixed(0)} KiB (${status?.reports?.length} reports kept, ${status?.reportsOmitted} omitted)`,
  );
}

/** A control plane with namespaces, M victim pods (`victim-<i>`, label app=victim and
 * victim=<i>, on fake-node-<i>) and the operator; stopped after `run`. */
async function withCluster(
  m: number,
  label: string,
  run: (cp: ControlPlane, admin: KubeClient, operator: OperatorProcess) => Promise<void>,
): Promise<void> {
  if (m <= 0) return;
  const missing = missingControlPlane() ?? (process.getuid?.() === 0 ? undefined : 'needs root');
  if (missing) {
    console.log(`${label}: skipped (${missing})`);
    return;
  }
  const cp = await startControlPlane({ controllers: [] });
  let operator: OperatorProcess | undefined;
  try {
    const admin = KubeClient.load(cp.kubeconfigPath('admin'));
    // The control plane may have made crosstalk-system already (the chart's namespace).
    for (const ns of ['crosstalk-system', 'shop'])
      await admin.create('/api/v1/namespaces', { metadata: { name: ns } }).catch((err: unknown) => {
        if (!isAlreadyExists(err)) throw err;
      });
    const pods = Array.from({ length: m }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `victim-${i}`, namespace: 'shop', labels: { app: 'victim', victim: String(i) } },
      spec: { nodeName: `fake-node-${i}`, containers: [{ name: 'main', image: 'none' }] },
    }));
    await inBatches(pods, (p) => admin.create('/api/v1/namespaces/shop/pods', p));
    operator = await OperatorProcess.start(cp, 'bench', ['--workers', '2']);
    await run(cp, admin, operator);
  } finally {
    await operator?.stop();
    await cp.stop();
  }
}

interface ChildItem {
  metadata: { name: string; generation: number };
  spec: { nodeName: string; targets: { uid: string; name: string }[] };
}

async function listChildren(admin: KubeClient): Promise<ChildItem[]> {
  return ((await admin.get(paths.nodeDiagnostics('shop'))) as { items: ChildItem[] }).items;
}

/** What a node's agent writes for one window: one report per target (`score` overrides
 * the score, so that a write can be told in the session's summary). */
function writeAgentStatus(admin: KubeClient, c: ChildItem, window: number, score?: number): Promise<unknown> {
  return admin.patch(
    paths.nodeDiagnostics('shop', c.metadata.name, 'status'),
    {
      status: {
        observedGeneration: c.metadata.generation,
        phase: 'Measuring',
        window: {
          intervalSeconds: 10,
          sequence: window,
          windowsReported: window,
          firstStart: iso(0),
          start: iso(window - 1),
          end: iso(window),
        },
        pods: c.spec.targets.map((t, i) => ({
          ...victimReport(i, window),
          ...(score === undefined ? {} : { score, verdict: 'High' as const }),
          name: t.name,
          uid: t.uid,
        })),
      },
    },
    ContentType.mergePatch,
  );
}

const iso = (window: number) => new Date(t0 + window * 10_000).toISOString();

function writeAgentStatuses(admin: KubeClient, children: readonly ChildItem[], window = 1): Promise<void> {
  return inBatches(children, (c) => writeAgentStatus(admin, c, window));
}

/** Writes (not reads: the benchmark itself polls) the API server counted per verb and
 * resource of crosstalk's kinds, events and leases, from its own apiserver_request_total. */
async function apiWrites(cp: ControlPlane): Promise<Map<string, number>> {
  const text = (await kubectl(cp, ['get', '--raw', '/metrics'], { check: true })).stdout;
  const counts = new Map<string, number>();
  for (const m of text.matchAll(/^apiserver_request_total\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (['GET', 'LIST', 'WATCH'].includes(labels.verb ?? '')) continue;
    if (!/^(diagnosticsessions|nodediagnostics|events|leases)$/.test(labels.resource ?? '')) continue;
    const key = `${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(m[2]));
  }
  return counts;
}

function delta(after: ReadonlyMap<string, number>, before: ReadonlyMap<string, number>): string {
  return [...after]
    .map(([k, n]) => [k, n - (before.get(k) ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
}

async function apiserverBenchmark(m: number): Promise<void> {
  await withCluster(m, 'real apiserver', async (cp, admin, operator) => {
    const applied = performance.now();
    await kubectl(cp, ['apply', '-f', '-'], {
      check: true,
      input: JSON.stringify({
        apiVersion: 'crosstalk.dev/v1alpha1',
        kind: 'DiagnosticSession',
        metadata: { name: 'bench', namespace: 'shop' },
        spec: { selector: { matchLabels: { app: 'victim' } }, interval: '10s' },
      }),
    });
    const children = await waitFor(async () => {
      const items = await listChildren(admin);
      return items.length >= m ? items : undefined;
    });
    const fannedOut = performance.now() - applied;

    const written = performance.now();
    await writeAgentStatuses(admin, children);
    const writeMs = performance.now() - written;
    await waitFor(async () => {
      const s = (await admin.get(paths.sessions('shop', 'bench'))) as { status?: SessionStatus };
      return s.status?.nodes?.ready === m ? true : undefined;
    });
    const aggregated = performance.now() - written;
    console.log(
      `real apiserver: ${m} nodes: ${m} NodeDiagnostics created ${(fannedOut / 1000).toFixed(1)} s after the session was applied; ` +
        `${m} agent statuses written in ${(writeMs / 1000).toFixed(1)} s, session showed ${m}/${m} ready ${(aggregated / 1000).toFixed(1)} s after the first write; ` +
        `${await operator.metric('crosstalk_operator_reconciles_total')} reconciles, ` +
        `${(await operator.metric('crosstalk_operator_reconcile_duration_seconds_sum')).toFixed(1)} s reconciling`,
    );

    // Steady windows: every agent writes its next window; the last node's write carries
    // the worst victim, so the summary shows when the session reflects it.
    for (const window of [2, 3]) {
      const before = await apiWrites(cp);
      const reconcilesBefore = await operator.metric('crosstalk_operator_reconciles_total');
      const started = performance.now();
      await writeAgentStatuses(admin, children.slice(0, -1), window);
      const last = children.at(-1)!;
      await writeAgentStatus(admin, last, window, 100);
      const lastWritten = performance.now();
      const worst = `shop/${last.spec.targets[0]?.name}`;
      const session = await waitFor(async () => {
        const s = (await admin.get(paths.sessions('shop', 'bench'))) as { status?: SessionStatus };
        return s.status?.summary?.worstPod === worst ? s : undefined;
      });
      const reflected = performance.now() - lastWritten;
      await new Promise((r) => setTimeout(r, 3000)); // writes still under way are counted too
      console.log(
        `window ${window}: ${m} agent writes in ${((lastWritten - started) / 1000).toFixed(1)} s; the session reflected the last node's write ` +
          `${(reflected / 1000).toFixed(2)} s after it; ${(await operator.metric('crosstalk_operator_reconciles_total')) - reconcilesBefore} reconciles; ` +
          `API writes in the window: ${delta(await apiWrites(cp), before)} (the nodediagnostics/status patches are the agents'); ` +
          `session status ${(JSON.stringify(session.status).length / 1024).toFixed(0)} KiB`,
      );
    }
  });
}

async function sessionsBenchmark(n: number): Promise<void> {
  await withCluster(n, 'sessions at once', async (_cp, admin, operator) => {
    const before = await operatorMemory(operator);
    const applied = performance.now();
    await inBatches(
      Array.from({ length: n }, (_, i) => i),
      (i) =>
        admin.create(paths.sessions('shop'), {
          apiVersion: 'crosstalk.dev/v1alpha1',
          kind: 'DiagnosticSession',
          metadata: { name: `bench-${i}`, namespace: 'shop' },
          spec: { selector: { matchLabels: { victim: String(i) } }, interval: '10s' },
        }),
    );
    const createMs = performance.now() - applied;
    const sessionsWhere = async (ok: (s: { status?: SessionStatus }) => boolean) =>
      ((await admin.get(paths.sessions('shop'))) as { items: { status?: SessionStatus }[] }).items.filter(ok).length;
    const children = await waitFor(async () => {
      const items = await listChildren(admin);
      return items.length >= n && (await sessionsWhere((s) => s.status?.phase === 'Running')) >= n ? items : undefined;
    });
    const runningMs = performance.now() - applied;
    const written = performance.now();
    await writeAgentStatuses(admin, children);
    await waitFor(async () => ((await sessionsWhere((s) => s.status?.nodes?.ready === 1)) >= n ? true : undefined));
    const readyMs = performance.now() - written;
    const after = await operatorMemory(operator);
    const metrics = (await operator.http('/metrics')).text;
    const reconciles = await operator.metric('crosstalk_operator_reconciles_total');
    const p = (q: number) =>
      (histogramQuantile(metrics, 'crosstalk_operator_reconcile_duration_seconds', q) * 1000).toFixed(0);
    console.log(
      `${n} sessions at once (one victim and node each): created in ${(createMs / 1000).toFixed(1)} s, ` +
        `all Running with their NodeDiagnostic ${(runningMs / 1000).toFixed(1)} s after the first create; ` +
        `${n} agent statuses aggregated (every session 1/1 ready) ${(readyMs / 1000).toFixed(1)} s after the first write; ` +
        `${reconciles} reconciles (${(reconciles / n).toFixed(1)} per session), reconcile time p50 <= ${p(0.5)} ms, p99 <= ${p(0.99)} ms ` +
        `(histogram bucket bounds); operator RSS ${before.rssMiB.toFixed(0)} → ${after.rssMiB.toFixed(0)} MiB, ` +
        `V8 heap used ${before.heapMiB.toFixed(0)} → ${after.heapMiB.toFixed(0)} MiB ` +
        `(of ${before.heapTotalMiB.toFixed(0)} → ${after.heapTotalMiB.toFixed(0)} MiB allocated), ` +
        `external ${before.externalMiB.toFixed(0)} → ${after.externalMiB.toFixed(0)} MiB`,
    );
  });
}

async function operatorMemory(
  operator: OperatorProcess,
): Promise<Record<'rssMiB' | 'heapMiB' | 'heapTotalMiB' | 'externalMiB', number>> {
  const status = readFileSync(`/proc/${operator.component.pid}/status`, 'utf8');
  const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
  const mib = async (metric: string) => (await operator.metric(metric)) / 2 ** 20;
  return {
    rssMiB: rssKiB / 1024,
    heapMiB: await mib('nodejs_heap_size_used_bytes'),
    heapTotalMiB: await mib('nodejs_heap_size_total_bytes'),
    externalMiB: await mib('nodejs_external_memory_bytes'),
  };
}

/** The upper bound of the histogram bucket holding quantile q (as Prometheus' histogram_quantile
 * would bound it, without interpolation). */
function histogramQuantile(text: string, name: string, q: number): number {
  const buckets: [number, number][] = [];
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm')))
    buckets.push([m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]);
  const total = buckets.at(-1)?.[1] ?? 0;
  return buckets.find(([, count]) => count >= q * total)?.[0] ?? NaN;
}

async function inBatches<T>(items: readonly T[], fn: (item: T) => Promise<unknown>, size = 20): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('benchmark timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

pureBenchmark(nodes);
await apiserverBenchmark(apiNodes);
await sessionsBenchmark(sessionCount);
