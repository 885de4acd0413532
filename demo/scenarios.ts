// The demo's scenarios: who runs where and what the aggressor does. The workload shapes are
// those of e2e/agent/scenarios.test.ts (the tested ground truth), except that the victim is
// the latency probe, so that it reports its own request latency beside crosstalk's verdict.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { V1OwnerReference } from '@kubernetes/client-node';

import { kubectl, type KubectlTarget } from '../testbed/cluster/kubectl.js';
import type { HarnessPodSpec, NodeHarness } from '../testbed/kubelet/node-harness.js';
import { cpuHog, ddWrite, fioJob, memoryHog } from '../testbed/workloads/commands.js';
import { latencyProbeCommand } from '../testbed/workloads/latency-probe.js';
import { DemoError } from './errors.js';

export const scenarioNames = ['cpu', 'io', 'memory', 'short-lived'] as const;
export type ScenarioName = (typeof scenarioNames)[number];

export interface PodRef {
  readonly namespace: string;
  readonly name: string;
}

/** The same cast in every scenario, so that one session (examples/noisy-neighbour.yaml) fits all. */
export const victim: PodRef = { namespace: 'shop', name: 'checkout' };
export const bystander: PodRef = { namespace: 'web', name: 'frontend' };
export const aggressorNamespace = 'batch';
export const namespaces = [victim.namespace, bystander.namespace, aggressorNamespace] as const;
export const victimLabels = { app: 'checkout' };
/** The victim and the aggressors share CPU 1; the bystander burns CPU 0, beside the demo's own
 * processes (stack.ts: systemCpu). */
const sharedCpu = '1';
const bystanderCpu = '0';

export interface ScenarioContext {
  readonly node: NodeHarness;
  /** For objects the harness does not make (a Job owning a stream of pods). */
  readonly cluster: KubectlTarget;
  /** A scratch directory on disk for data files; the demo removes it. */
  readonly workDir: string;
}

/** A started aggressor: one pod, or a stream of short-lived ones. */
export interface RunningAggressor {
  /** Stops it and deletes its pods. */
  stop(): Promise<void>;
}

export interface Scenario {
  readonly name: ScenarioName;
  /** What the victim does, for the progress lines. */
  readonly victimDoes: string;
  /** What the aggressor does once it starts. */
  readonly aggressorDoes: string;
  /** How the aggressor appears in kubectl output, e.g. `batch/etl`. */
  readonly aggressorName: string;
  /** Whether a pod named in a report is (one of) this scenario's aggressor(s). */
  isAggressor(pod: PodRef): boolean;
  /** Data files and node limits, before any pod starts. */
  prepare(ctx: ScenarioContext): void;
  victim(ctx: ScenarioContext): HarnessPodSpec;
  startAggressor(ctx: ScenarioContext): Promise<RunningAggressor>;
}

export const bystanderPod: HarnessPodSpec = {
  ...bystander,
  labels: { app: 'frontend' },
  containers: [{ name: 'app', command: cpuHog(), cpus: bystanderCpu }],
};
export const bystanderDoes = `burns CPU ${bystanderCpu} all the time (stress-ng), never near the victim`;

/** The CPU-bound victim: 1000 requests/s of ~0.2 ms of work each, a fifth of its CPU. A
 * service that needs a good part of its CPU suffers when a neighbour takes its turns; one
 * that barely uses it is mostly protected by the scheduler's wakeup preemption, and its
 * run-queue wait is then mostly the wakeup latency of an idle CPU. */
const cpuBoundVictim = { rate: 1000, work: 120_000 };
const cpuBoundVictimDoes = `1000 requests/s, 0.2 ms of CPU work each (20% of CPU ${sharedCpu}, pinned there)`;

function victimPod(command: string[], cpuRequest?: string): HarnessPodSpec {
  const resources = cpuRequest === undefined ? {} : { resources: { requests: { cpu: cpuRequest } } };
  return { ...victim, labels: victimLabels, containers: [{ name: 'app', command, cpus: sharedCpu, ...resources }] };
}

/** CPU requests as a platform team would set them: the victim asks for 350m and uses about
 * 200m, the batch job asks for a whole CPU. On a contended CPU the scheduler then gives the
 * victim about a quarter of it, by weight: it keeps up, with waits (measured with bare
 * cgroups: about 250 ms of run-queue wait in 8 s, p99 1.5-3.6 ms). At equal weights
 * (both BestEffort) it waited 76 ms in 10 s, a verdict at the edge of None and Low. */
const victimCpuRequest = '350m';
const etlCpuRequest = '1';

/** Starts one aggressor pod; stopping deletes it. */
async function singlePod(node: NodeHarness, spec: HarnessPodSpec): Promise<RunningAggressor> {
  await node.createPod(spec);
  return { stop: () => node.deletePod(spec.namespace ?? 'default', spec.name) };
}

function isNamed(name: string): (pod: PodRef) => boolean {
  return (pod) => pod.namespace === aggressorNamespace && pod.name === name;
}

/** Writes `megabytes` around the page cache, so that the victim's reads are what charge it. */
function writeDataFile(file: string, megabytes: number): void {
  const [command, ...args] = ddWrite({ file, megabytes });
  const result = spawnSync(command!, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (result.status !== 0) {
    throw new DemoError('MissingRequirement', `could not write ${file}: ${result.stderr || result.error?.message}`);
  }
}

const cpu: Scenario = {
  name: 'cpu',
  victimDoes: `${cpuBoundVictimDoes}; requests ${victimCpuRequest} CPU`,
  aggressorDoes: `3 CPU burners (stress-ng) pinned to CPU ${sharedCpu}, the victim's CPU; requests ${etlCpuRequest} CPU`,
  aggressorName: `${aggressorNamespace}/etl`,
  isAggressor: isNamed('etl'),
  prepare: () => undefined,
  victim: () => victimPod(latencyProbeCommand(cpuBoundVictim), victimCpuRequest),
  startAggressor: ({ node }) =>
    singlePod(node, {
      name: 'etl',
      namespace: aggressorNamespace,
      labels: { app: 'etl' },
      containers: [
        {
          name: 'worker',
          command: cpuHog({ workers: 3 }),
          cpus: sharedCpu,
          resources: { requests: { cpu: etlCpuRequest } },
        },
      ],
    }),
};

const burstPrefix = 'burst-';

const shortLived: Scenario = {
  name: 'short-lived',
  victimDoes: cpuBoundVictimDoes,
  aggressorDoes: `a Job's stream of pods, one every 250 ms, each burning CPU ${sharedCpu} for 150 ms`,
  aggressorName: `${aggressorNamespace}/${burstPrefix}*`,
  isAggressor: (pod) => pod.namespace === aggressorNamespace && pod.name.startsWith(burstPrefix),
  prepare: () => undefined,
  victim: () => victimPod(latencyProbeCommand(cpuBoundVictim)),
  startAggressor: async ({ node, cluster }) => burstStream(node, await createJob(cluster, 'burst')),
};

/** A Job's stream of short-lived CPU burners: each pod lives 150 ms, between two of the
 * agent's reads, so only its lifecycle events and final counters tell who it was; alone
 * each takes too little to be named, the agent judges the Job's pods together. Each is
 * deleted once it has finished. */
function burstStream(node: NodeHarness, owner: V1OwnerReference): RunningAggressor {
  const stopping = new AbortController();
  const deletions: Promise<void>[] = [];
  const loop = (async () => {
    for (let i = 0; !stopping.signal.aborted; i++) {
      const name = `${burstPrefix}${i}`;
      const pod = await node.createPod({
        name,
        namespace: aggressorNamespace,
        labels: { app: 'burst' },
        ownerReferences: [owner],
        containers: [
          { name: 'burn', command: ['timeout', '0.15', 'sh', '-c', 'while :; do :; done'], cpus: sharedCpu },
        ],
      });
      deletions.push(pod.finished.then(() => node.deletePod(aggressorNamespace, name)));
      await sleep(250, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  })();
  return {
    async stop() {
      stopping.abort();
      await loop;
      await Promise.all(deletions);
    },
  };
}

/** A suspended Job (no Job controller runs here: the demo plays its part) to own a stream of pods. */
async function createJob(cluster: KubectlTarget, name: string): Promise<V1OwnerReference> {
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: aggressorNamespace },
    spec: { suspend: true, template: { spec: { restartPolicy: 'Never', containers: [{ name, image: 'none' }] } } },
  };
  const created = await kubectl(cluster, ['create', '-f', '-', '-o', 'jsonpath={.metadata.uid}'], {
    input: JSON.stringify(job),
    check: true,
  });
  return { apiVersion: 'batch/v1', kind: 'Job', name, uid: created.stdout, controller: true };
}

const io: Scenario = {
  name: 'io',
  victimDoes: '500 requests/s, each a 4 KiB O_DIRECT read at a random offset of a 64 MiB file',
  aggressorDoes: 'two writers of 1 MiB O_DIRECT blocks (fio) on the same disk',
  aggressorName: `${aggressorNamespace}/backup`,
  isAggressor: isNamed('backup'),
  prepare: ({ workDir }) => {
    mkdirSync(join(workDir, 'io'), { recursive: true });
    writeDataFile(join(workDir, 'io', 'data'), 64);
  },
  victim: ({ workDir }) =>
    victimPod(latencyProbeCommand({ rate: 500, read: { file: join(workDir, 'io', 'data'), direct: true } })),
  startAggressor: ({ node, workDir }) =>
    singlePod(node, {
      name: 'backup',
      namespace: aggressorNamespace,
      labels: { app: 'backup' },
      containers: ['a', 'b'].map((n) => ({
        name: `writer-${n}`,
        command: fioJob({ dir: join(workDir, 'io'), rw: 'write', size: '512M', blockSize: '1M' }),
      })),
    }),
};

const MiB = 2 ** 20;

const hogStep = memoryHog({ bytes: 40 * MiB }).join(' ');

const memory: Scenario = {
  name: 'memory',
  victimDoes:
    '200 requests/s, each a 1 MiB read from a 96 MiB file it keeps in page cache; all pods share a 192 MiB limit',
  aggressorDoes: 'grows by 40 MiB of anonymous memory (stress-ng) every 3 s, to 160 MiB, in the shared limit',
  aggressorName: `${aggressorNamespace}/hog`,
  isAggressor: isNamed('hog'),
  prepare: ({ node, workDir }) => {
    mkdirSync(join(workDir, 'memory'), { recursive: true });
    writeDataFile(join(workDir, 'memory', 'data'), 96);
    // The node-allocatable cgroup holds every pod: the victim's cache fits until the hog grows.
    node.limitAllocatableMemory(192 * MiB);
  },
  victim: ({ workDir }) =>
    victimPod(latencyProbeCommand({ rate: 200, read: { file: join(workDir, 'memory', 'data'), blockBytes: MiB } })),
  startAggressor: ({ node }) =>
    singlePod(node, {
      name: 'hog',
      namespace: aggressorNamespace,
      labels: { app: 'hog' },
      // In steps, as a leak grows: the agent samples memory use once per window, and growth
      // from before a new pod's first sample is not counted.
      containers: [{ name: 'grow', command: ['sh', '-c', `for i in 1 2 3 4; do ${hogStep} & sleep 3; done; wait`] }],
    }),
};

export const scenarios: Readonly<Record<ScenarioName, Scenario>> = {
  cpu,
  io,
  memory,
  'short-lived': shortLived,
};
