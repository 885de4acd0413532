// A kubelet stand-in for one named node, so that e2e tests and the demo run real
// processes in real cgroups behind real Pod objects without a container runtime. It
// registers the Node (Ready, refreshed), runs every Pending pod bound to the node (its own
// or one applied with kubectl) as processes in kubelet-layout cgroups, publishes pod
// status as containers start and exit, and on deletion kills the processes, removes the
// cgroups and deletes the object. Several harness nodes can share one machine: each keeps
// its cgroups beneath a scope of its own (`cgroupScope`).
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  ListWatch,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type V1OwnerReference,
  type V1Pod,
} from '@kubernetes/client-node';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { readCgroupMounts, readProcCgroup, type Hierarchy } from '../../agent/cgroups/mounts.js';
import { placementHierarchies, TestCgroup } from '../host/cgroups.js';
import { onExitCleanup } from '../cluster/exit-cleanup.js';
import { isValidNodeName } from '../cluster/identities.js';
import { processAlive } from '../cluster/liveness.js';
import { abandonedDirectories, claimDirectory, releaseDirectory } from '../cluster/ownership.js';
import { qosCgroupPath, type CgroupDriver } from './cgroup-layout.js';
import { applyLimits, minShares, type ContainerResources } from './cgroup-limits.js';
import { HarnessError } from './errors.js';
import { ImageStore } from './image-store.js';
import { nodeManifest, nodeStatus, type NodeFacts } from './node-status.js';
import { cpusAnnotationPrefix, parseRunnablePod, type RunnablePod } from './pod-spec.js';
import { PodRuntime, type HarnessPod, type PodEnvironment } from './pod-runtime.js';
import { podStatus } from './pod-status.js';

export interface NodeHarnessOptions {
  /** Kubeconfig path or object with rights over nodes and pods (the admin identity). */
  readonly kubeconfig: string | KubeConfig;
  readonly nodeName: string;
  /** Cgroup layout to reproduce (default systemd, kubelet's recommended driver). */
  readonly driver?: CgroupDriver;
  /** Extra Node labels. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Where container logs go (default: a temp directory removed by close()). */
  readonly logDir?: string;
  /** How often the Node's Ready condition is refreshed (default 10 s). */
  readonly heartbeatIntervalMs?: number;
  readonly clock?: () => Date;
  /** Images this node holds, by reference, as OCI archives (what `kind load` gives a kind
   * node): a container of one of them without a command runs the image, sandboxed. */
  readonly images?: Readonly<Record<string, string>>;
}

export interface HarnessContainerSpec {
  readonly name: string;
  /** The program and its fixed arguments (there are no images to take an entrypoint from). */
  readonly command: readonly string[];
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Pin the container to these CPUs (taskset list, e.g. "0" or "0-1"). */
  readonly cpus?: string;
  readonly resources?: ContainerResources;
  /** Shown in pod status only (default harness.crosstalk.dev/process). */
  readonly image?: string;
}

export interface HarnessPodSpec {
  readonly name: string;
  /** Default `default`. */
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly V1OwnerReference[];
  readonly containers: readonly HarnessContainerSpec[];
}

export interface CloseOptions {
  /** Keep the container logs (only matters when the harness chose the log directory). */
  readonly keepLogs?: boolean;
}

/** Pod addresses: the processes share the host's network; pods that run images get an
 * address of their own on loopback (two replicas may listen on the same port), unique to
 * this test process. */
const hostIP = '127.0.0.1';
let imagePods = 0;
function nextPodIP(): string {
  const n = ++imagePods;
  return `127.${20 + (process.pid % 200)}.${(n >> 8) & 255}.${n & 255}`;
}
const defaultImage = 'harness.crosstalk.dev/process';
const logDirPrefix = 'crosstalk-harness-';
/** The longest a pod deleted through the API gets to stop before SIGKILL (kubelet's
 * default is 30 s; the suites wait for the pods they delete). */
const maxGraceSeconds = 10;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The Pod object `createPod` submits: bound to `nodeName`, never restarted. */
export function podManifest(nodeName: string, spec: HarnessPodSpec): V1Pod {
  const annotations: Record<string, string> = { ...spec.annotations };
  for (const c of spec.containers) if (c.cpus !== undefined) annotations[`${cpusAnnotationPrefix}${c.name}`] = c.cpus;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: spec.name,
      namespace: spec.namespace ?? 'default',
      ...(spec.labels && { labels: { ...spec.labels } }),
      ...(Object.keys(annotations).length > 0 && { annotations }),
      ...(spec.ownerReferences && { ownerReferences: [...spec.ownerReferences] }),
    },
    spec: {
      nodeName,
      restartPolicy: 'Never',
      containers: spec.containers.map((c) => ({
        name: c.name,
        image: c.image ?? defaultImage,
        command: [...c.command],
        ...(c.args && { args: [...c.args] }),
        ...(c.env && { env: Object.entries(c.env).map(([name, value]) => ({ name, value })) }),
        ...(c.resources && { resources: { ...c.resources } }),
      })),
    },
  };
}

interface PodKey {
  readonly namespace: string;
  readonly name: string;
}

/** A started pod, or why it could not start (its status then says so). */
type PodStart = { readonly runtime: PodRuntime } | { readonly error: Error };

export class NodeHarness {
  readonly nodeName: string;
  readonly driver: CgroupDriver;
  /** The path segment beneath which all of this node's cgroups live, in every hierarchy
   * (`crosstalk-<pid>-<node>`): an agent for this node restricts itself to cgroup paths
   * containing it. */
  readonly cgroupScope: string;
  readonly hierarchies: readonly Hierarchy[];
  readonly logDir: string;

  private readonly core: CoreV1Api;
  private readonly informer: ListWatch<V1Pod>;
  private readonly scope: TestCgroup;
  private readonly clock: () => Date;
  private readonly facts: NodeFacts;
  private readonly readySince: Date;
  private readonly ownsLogDir: boolean;
  private readonly images: ImageStore;
  private readonly config: KubeConfig;
  private readonly starts = new Map<string, Promise<PodStart>>();
  private readonly running = new Map<string, PodRuntime>();
  private readonly keys = new Map<string, PodKey>();
  private readonly terminations = new Map<string, Promise<void>>();
  private heartbeat: NodeJS.Timeout | undefined;
  private unregisterExitCleanup: () => void = () => undefined;
  private closing: Promise<void> | undefined;

  private constructor(options: NodeHarnessOptions, config: KubeConfig) {
    if (!isValidNodeName(options.nodeName)) {
      throw new HarnessError('InvalidNodeName', `${JSON.stringify(options.nodeName)} is not an RFC 1123 node name`);
    }
    this.nodeName = options.nodeName;
    this.driver = options.driver ?? 'systemd';
    this.cgroupScope = `crosstalk-${process.pid}-${options.nodeName}`;
    this.hierarchies = placementHierarchies();
    this.clock = options.clock ?? (() => new Date());
    this.readySince = this.clock();
    this.ownsLogDir = options.logDir === undefined;
    this.logDir = options.logDir ?? mkdtempSync(join(tmpdir(), `${logDirPrefix}${options.nodeName}-`));
    if (this.ownsLogDir) claimDirectory(this.logDir);
    this.images = new ImageStore(options.images ?? {}, join(this.logDir, '.images'));
    this.config = config;
    this.core = config.makeApiClient(CoreV1Api);
    this.facts = {
      name: options.nodeName,
      labels: options.labels ?? {},
      address: hostIP,
      cpus: cpus().length,
      memoryBytes: totalmem(),
      kernelVersion: release(),
      osImage: osImage(),
      architecture: arch() === 'x64' ? 'amd64' : arch(),
      kubeletVersion: 'crosstalk-node-harness',
    };
    const fieldSelector = `spec.nodeName=${options.nodeName}`;
    this.informer = new ListWatch<V1Pod>(
      '/api/v1/pods',
      new Watch(config),
      () => this.core.listPodForAllNamespaces({ fieldSelector }),
      false,
      undefined,
      fieldSelector,
    );
    this.scope = TestCgroup.create(this.cgroupScope, this.hierarchies);
  }

  /** Registers the node, prepares its cgroups and starts watching the pods bound to it. */
  static async start(options: NodeHarnessOptions): Promise<NodeHarness> {
    await reapAbandoned();
    const config = typeof options.kubeconfig === 'string' ? loadKubeconfig(options.kubeconfig) : options.kubeconfig;
    const harness = new NodeHarness(options, config);
    try {
      await harness.boot(options.heartbeatIntervalMs ?? 10_000);
    } catch (err: unknown) {
      await harness.close();
      throw err;
    }
    return harness;
  }

  /** Directory of the node's scope in a hierarchy. */
  scopeDir(hierarchy: Hierarchy = 'unified'): string {
    return this.scope.dir(hierarchy);
  }

  /** Caps the memory all pods of the node share (the node-allocatable cgroup), as kubelet's
   * --enforce-node-allocatable does; `undefined` lifts the cap. */
  limitAllocatableMemory(bytes: number | undefined): void {
    const allocatable = TestCgroup.create(
      join(this.cgroupScope, qosCgroupPath(this.driver, 'Guaranteed')),
      this.hierarchies,
    );
    if (existsSync(join(allocatable.dir('unified'), 'memory.max'))) {
      allocatable.write('memory.max', bytes === undefined ? 'max' : String(bytes));
    } else {
      allocatable.write('memory.limit_in_bytes', String(bytes ?? -1), 'memory');
    }
  }

  /** Where a cgroup of this node appears in /proc/<pid>/cgroup for `hierarchy`. */
  cgroupPath(cgroup: TestCgroup, hierarchy: Hierarchy = 'unified'): string {
    const mount = readCgroupMounts().mountPoints.get(hierarchy) ?? '';
    return cgroup.dir(hierarchy).slice(mount.length) || '/';
  }

  /** Creates the Pod bound to this node and resolves once its containers run (or have run)
   * and the status says so. */
  async createPod(spec: HarnessPodSpec): Promise<HarnessPod> {
    if (this.closing) throw new HarnessError('Closed', `node harness ${this.nodeName} is closed`);
    const created = await this.core.createNamespacedPod({
      namespace: spec.namespace ?? 'default',
      body: podManifest(this.nodeName, spec),
    });
    const start = await this.ensureStarted(created);
    if ('error' in start) {
      await this.deletePod(created.metadata?.namespace ?? 'default', spec.name);
      throw start.error;
    }
    return start.runtime;
  }

  /** A pod this harness runs, by name. */
  pod(namespace: string, name: string): HarnessPod | undefined {
    return this.pods.find((p) => p.namespace === namespace && p.name === name);
  }

  /** Every pod the harness runs, finished ones included until they are deleted. */
  get pods(): readonly HarnessPod[] {
    return [...this.running.values()];
  }

  /** Kills the pod's processes, removes its cgroups, then deletes the object (grace 0). */
  async deletePod(namespace: string, name: string): Promise<void> {
    const uid = [...this.keys].find(([, key]) => key.namespace === namespace && key.name === name)?.[0];
    if (uid !== undefined) return this.terminate(uid, { namespace, name }, true);
    await this.deleteObject({ namespace, name });
  }

  /** Deletes every pod it ran, its cgroups, the Node object and (unless kept) the logs. */
  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(options.keepLogs ?? false);
    return this.closing;
  }

  private async boot(heartbeatIntervalMs: number): Promise<void> {
    // kubelet creates the node-allocatable cgroup weighted by the node's CPUs (so pods
    // together outweigh a single system process), and the QoS cgroups up front;
    // BestEffort pods share the minimum weight.
    const allocatable = TestCgroup.create(
      join(this.cgroupScope, qosCgroupPath(this.driver, 'Guaranteed')),
      this.hierarchies,
    );
    applyLimits(allocatable, { cpuShares: cpus().length * 1024 });
    for (const qos of ['Burstable', 'BestEffort'] as const) {
      const cgroup = TestCgroup.create(join(this.cgroupScope, qosCgroupPath(this.driver, qos)), this.hierarchies);
      if (qos === 'BestEffort') applyLimits(cgroup, { cpuShares: minShares });
    }
    this.unregisterExitCleanup = onExitCleanup(() => {
      // The cgroup directories go at the next harness start (reapAbandoned).
      this.scope.killAll();
      if (!this.ownsLogDir) return;
      releaseDirectory(this.logDir);
      console.error(`node harness ${this.nodeName} killed at exit; container logs kept in ${this.logDir}`);
    });
    await this.registerNode();
    this.heartbeat = setInterval(
      () => void this.publishNodeStatus().catch((err: unknown) => this.report(err)),
      heartbeatIntervalMs,
    );
    this.informer.on('add', (pod) => this.onPod(pod));
    this.informer.on('update', (pod) => this.onPod(pod));
    this.informer.on('delete', (pod) => this.onPodGone(pod));
    this.informer.on('error', (err: unknown) => {
      if (this.closing) return;
      this.report(err);
      void sleep(1000)
        .then(() => (this.closing ? undefined : this.informer.start()))
        .catch((restartErr: unknown) => this.report(restartErr));
    });
    await this.informer.start();
  }

  private async registerNode(): Promise<void> {
    try {
      await this.core.createNode({ body: nodeManifest(this.facts) });
    } catch (err: unknown) {
      if (!isStatus(err, 409)) throw err;
      // A node of that name is left from an earlier run: take it over.
      const labels = (nodeManifest(this.facts).metadata as { labels: Record<string, string> }).labels;
      await this.core.patchNode({ name: this.nodeName, body: { metadata: { labels } } }, mergePatch);
    }
    await this.publishNodeStatus();
  }

  private async publishNodeStatus(): Promise<void> {
    await this.core.patchNodeStatus(
      { name: this.nodeName, body: { status: nodeStatus(this.facts, this.clock(), this.readySince) } },
      mergePatch,
    );
  }

  private onPod(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    const key = podKey(pod);
    if (this.closing || uid === undefined || !key || this.terminations.has(uid)) return;
    if (pod.metadata?.deletionTimestamp) {
      // Deleted through the API (a controller, kubectl): stopped gracefully, as kubelet
      // would, with the grace the deletion gave (capped: the suites wait for it).
      const graceMs = Math.min(pod.metadata.deletionGracePeriodSeconds ?? 30, maxGraceSeconds) * 1000;
      void this.terminate(uid, key, true, graceMs).catch((err: unknown) => this.report(err));
    } else if ((pod.status?.phase ?? 'Pending') === 'Pending') {
      void this.ensureStarted(pod);
    }
  }

  private onPodGone(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    const key = podKey(pod);
    if (uid === undefined || !key || !this.starts.has(uid)) return;
    void this.terminate(uid, key, false).catch((err: unknown) => this.report(err));
  }

  /** Starts a pod once, whoever asks first (createPod or the watch). */
  private ensureStarted(pod: V1Pod): Promise<PodStart> {
    const uid = pod.metadata?.uid ?? '';
    const key = podKey(pod);
    let start = this.starts.get(uid);
    if (!start) {
      if (key) this.keys.set(uid, key);
      start = this.startPod(pod);
      this.starts.set(uid, start);
    }
    return start;
  }

  private async startPod(pod: V1Pod): Promise<PodStart> {
    try {
      const placement = { podIP: nextPodIP(), hostIP, hasImage: (image: string) => this.images.has(image) };
      const runtime = await PodRuntime.start(parseRunnablePod(pod, placement), this.podEnvironment());
      this.running.set(runtime.uid, runtime);
      return { runtime };
    } catch (err: unknown) {
      const error = err instanceof Error ? err : new Error(String(err));
      await this.publishStartFailure(pod, error);
      return { error };
    }
  }

  private podEnvironment(): PodEnvironment {
    return {
      driver: this.driver,
      scope: this.cgroupScope,
      hierarchies: this.hierarchies,
      logDir: this.logDir,
      hostIP,
      clock: this.clock,
      publish: (pod, status) => this.publishPodStatus(pod, status),
      images: this.images,
      apiServer: apiServerAddress(this.config),
      serviceAccountDir: (pod) => this.serviceAccountDir(pod),
    };
  }

  /** The projected service-account volume kubelet would mount: a token bound to the pod
   * (so the API server knows its node), the cluster's CA and the namespace. */
  private async serviceAccountDir(pod: RunnablePod): Promise<string> {
    const dir = join(this.logDir, `${pod.namespace}_${pod.name}_${pod.uid}`, 'serviceaccount');
    mkdirSync(dir, { recursive: true });
    const request = await this.core.createNamespacedServiceAccountToken({
      namespace: pod.namespace,
      name: pod.serviceAccountName,
      body: {
        spec: {
          audiences: [],
          expirationSeconds: 3607,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.name, uid: pod.uid },
        },
      },
    });
    const cluster = this.config.getCurrentCluster();
    const ca = cluster?.caData ? Buffer.from(cluster.caData, 'base64') : readFileSync(cluster?.caFile ?? '');
    writeFileSync(join(dir, 'token'), request.status?.token ?? '');
    writeFileSync(join(dir, 'ca.crt'), ca);
    writeFileSync(join(dir, 'namespace'), pod.namespace);
    return dir;
  }

  /** A pod that cannot run stays Pending with the reason in its containers' waiting state. */
  private async publishStartFailure(pod: V1Pod, error: Error): Promise<void> {
    const key = podKey(pod);
    const uid = pod.metadata?.uid;
    if (!key || uid === undefined) return;
    const qosClass = pod.status?.qosClass;
    const status = podStatus({
      startTime: this.clock(),
      hostIP,
      podIP: hostIP,
      qosClass: qosClass === 'Guaranteed' || qosClass === 'Burstable' ? qosClass : 'BestEffort',
      containers: (pod.spec?.containers ?? []).map((c) => ({
        name: c.name,
        image: c.image ?? '',
        state: { kind: 'waiting', reason: 'CreateContainerError', message: error.message },
      })),
    });
    await this.publishPodStatus({ ...key, uid }, status);
  }

  private async publishPodStatus(
    pod: Pick<RunnablePod, 'namespace' | 'name' | 'uid'>,
    status: Record<string, unknown>,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.core.patchNamespacedPodStatus(
          // The uid makes the patch fail rather than land on a new pod of the same name.
          { namespace: pod.namespace, name: pod.name, body: { metadata: { uid: pod.uid }, status } },
          mergePatch,
        );
        return;
      } catch (err: unknown) {
        if (isStatus(err, 404) || isStatus(err, 409)) return; // deleted meanwhile
        if (attempt >= 3) {
          this.report(err);
          return;
        }
        await sleep(100 * attempt);
      }
    }
  }

  private terminate(uid: string, key: PodKey, deleteObject: boolean, graceMs = 0): Promise<void> {
    let termination = this.terminations.get(uid);
    if (!termination) {
      this.running.delete(uid);
      termination = (async () => {
        try {
          const start = await this.starts.get(uid);
          if (start && 'runtime' in start) await start.runtime.stop(graceMs);
          if (deleteObject) await this.deleteObject(key, uid);
        } finally {
          this.starts.delete(uid);
          this.keys.delete(uid);
        }
      })();
      this.terminations.set(uid, termination);
    }
    return termination;
  }

  private async deleteObject(key: PodKey, uid?: string): Promise<void> {
    try {
      // In the body: the API server ignores query parameters when a body is sent.
      const body = { gracePeriodSeconds: 0, ...(uid !== undefined && { preconditions: { uid } }) };
      await this.core.deleteNamespacedPod({ ...key, body });
    } catch (err: unknown) {
      if (!isStatus(err, 404) && !isStatus(err, 409)) throw err;
    }
  }

  private async shutdown(keepLogs: boolean): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.informer.stop();
    // Every pod stops and every cgroup goes even when the API server is already gone: the
    // first failure is thrown only after that.
    const failures: unknown[] = [];
    for (const [uid, key] of [...this.keys]) await this.terminate(uid, key, true).catch((err) => failures.push(err));
    try {
      await this.scope.remove();
      await this.core.deleteNode({ name: this.nodeName }).catch((err: unknown) => {
        if (!isStatus(err, 404)) failures.push(err);
      });
      if (failures.length > 0) throw failures[0];
    } finally {
      this.unregisterExitCleanup();
      if (this.ownsLogDir && keepLogs) releaseDirectory(this.logDir);
      else if (this.ownsLogDir) rmSync(this.logDir, { recursive: true, force: true });
    }
  }

  private report(err: unknown): void {
    console.error(`node harness ${this.nodeName}:`, err instanceof Error ? err.message : err);
  }
}

function podKey(pod: V1Pod): PodKey | undefined {
  const { namespace, name } = pod.metadata ?? {};
  return namespace && name ? { namespace, name } : undefined;
}

function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiException && err.code === code;
}

function loadKubeconfig(path: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(path);
  return config;
}

function osImage(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

/** Removes what harness processes that died without closing left behind: their node
 * scopes (processes killed at exit, or here) and their log directories. */
async function reapAbandoned(): Promise<void> {
  for (const dir of abandonedDirectories(logDirPrefix)) rmSync(dir, { recursive: true, force: true });
  const { mountPoints } = readCgroupMounts();
  const own = readProcCgroup();
  const abandoned = new Set<string>();
  for (const hierarchy of placementHierarchies()) {
    const base = join(mountPoints.get(hierarchy) ?? '', own.get(hierarchy) ?? '/');
    for (const entry of readdirSync(base, { withFileTypes: true })) {
      const owner = /^crosstalk-(\d+)-/.exec(entry.name)?.[1];
      if (entry.isDirectory() && owner !== undefined && !processAlive(Number(owner))) abandoned.add(entry.name);
    }
  }
  for (const scope of abandoned) await TestCgroup.create(scope).remove();
}

/** Host and port of the API server the harness talks to, for in-cluster clients. */
function apiServerAddress(config: KubeConfig): { host: string; port: string } {
  const url = new URL(config.getCurrentCluster()?.server ?? 'https://127.0.0.1:443');
  return { host: url.hostname, port: url.port || '443' };
}
