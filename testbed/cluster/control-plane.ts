// A real Kubernetes control plane on loopback for e2e tests and the demo: etcd,
// kube-apiserver (TLS, client-certificate users, RBAC) and kube-controller-manager (garbage
// collector and namespace controllers, so owner references cascade and namespaces
// finalize). Ports are chosen free at start; stop() leaves no process, port or file
// behind except, on request, the components' logs.
import { KubeConfig } from '@kubernetes/client-node';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

import { controlPlaneBinaries, type ControlPlaneBinaries } from './binaries.js';
import { ControlPlaneError } from './errors.js';
import { onExitCleanup } from './exit-cleanup.js';
import {
  controllerManagerSubject,
  identityFileStem,
  parseIdentity,
  subjectOf,
  type ClientSubject,
  type Identity,
} from './identities.js';
import { renderTestbedAccess } from './chart.js';
import { kubectl, type KubectlTarget } from './kubectl.js';
import { abandonedDirectories, claimDirectory } from './ownership.js';
import { renderKubeconfig } from './kubeconfig.js';
import { createClusterPki, issueClientCertificate, type ClusterPki } from './pki.js';
import { freeLoopbackPort } from './ports.js';
import { SupervisedProcess } from './supervised-process.js';

export interface ControlPlaneOptions {
  /** Working directory (certificates, etcd data, kubeconfigs, logs); must be absent or
   * empty. Default: a fresh directory under the system temp dir. */
  readonly dir?: string;
  /** kube-controller-manager controllers to run; an empty list starts no controller manager. */
  readonly controllers?: readonly string[];
  /** CRD manifests to install before the controllers start (default: every crds/*.yaml). */
  readonly crds?: readonly string[];
  /** How long each component may take to become healthy (default 60 s). */
  readonly startTimeoutMs?: number;
  /** A cluster that runs workloads as a user's does (the install lane): ServiceAccount
   * admission (pods get their projected token), kube-scheduler, and the deployment,
   * replicaset, daemonset and serviceaccount controllers; crosstalk's CRDs and access rules
   * come from installing the chart rather than from the test bed. */
  readonly workloads?: boolean;
}

export interface StopOptions {
  /** Keep `<dir>/logs` (etcd, kube-apiserver, kube-controller-manager) and remove the rest. */
  readonly keepLogs?: boolean;
}

export interface ComponentInfo {
  readonly name: string;
  /** Also its process group id. */
  readonly pid: number;
  readonly logFile: string;
}

export const defaultControllers: readonly string[] = ['garbage-collector-controller', 'namespace-controller'];
const workloadControllers: readonly string[] = [
  'deployment-controller',
  'replicaset-controller',
  'daemonset-controller',
  'serviceaccount-controller',
  // Lifts the not-ready taint the API server puts on a new Node once it reports Ready.
  'node-lifecycle-controller',
];

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The repository's CRD manifests, crds/*.yaml, in name order. */
export function crdManifests(): string[] {
  const dir = join(repoRoot, 'crds');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));
}

/** Temp directories of control planes; a later run reaps those of dead owners. */
const tempPrefix = 'crosstalk-cp-';
const pidsFile = 'pids';

export class ControlPlane implements KubectlTarget {
  readonly logDir: string;
  readonly kubectlCacheDir: string;
  private readonly pki: ClusterPki;
  private readonly processes: SupervisedProcess[] = [];
  private readonly unregisterExitCleanup: () => void;
  private apiserverPort = 0;
  private etcdPorts = { client: 0, peer: 0 };
  /** Set at boot; a restarted API server keeps it. */
  private workloads = false;
  private stopping: Promise<void> | undefined;

  private constructor(
    /** The working directory; removed by stop(). */
    readonly dir: string,
    readonly binaries: ControlPlaneBinaries,
  ) {
    claimDirectory(dir);
    this.logDir = join(dir, 'logs');
    this.kubectlCacheDir = join(dir, 'kubectl-cache');
    mkdirSync(this.logDir);
    mkdirSync(join(dir, 'kubeconfig'));
    this.pki = createClusterPki(join(dir, 'pki'));
    this.unregisterExitCleanup = onExitCleanup(() => this.killNow());
  }

  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    reapAbandoned();
    const binaries = await controlPlaneBinaries();
    const cp = new ControlPlane(prepareDirectory(options.dir), binaries);
    try {
      await cp.boot(options);
    } catch (err: unknown) {
      await cp.stop({ keepLogs: true });
      if (err instanceof Error) err.message += ` (control plane logs kept in ${cp.logDir})`;
      throw err;
    }
    return cp;
  }

  /** https://127.0.0.1:<port> */
  get server(): string {
    return `https://127.0.0.1:${this.apiserverPort}`;
  }

  get kubectlBinary(): string {
    return this.binaries.kubectl;
  }

  /** Loopback ports in use; all free again after stop(). */
  get ports(): { readonly apiserver: number; readonly etcdClient: number; readonly etcdPeer: number } {
    return { apiserver: this.apiserverPort, etcdClient: this.etcdPorts.client, etcdPeer: this.etcdPorts.peer };
  }

  get components(): readonly ComponentInfo[] {
    return this.processes.map(({ name, pid, logFile }) => ({ name, pid, logFile }));
  }

  /** Path of a self-contained kubeconfig for `identity`; agent identities are issued on
   * first use, one client certificate per node. */
  kubeconfigPath(identity: Identity = 'admin'): string {
    const checked = parseIdentity(identity);
    return this.writeKubeconfig(identityFileStem(checked), subjectOf(checked));
  }

  /** A client-node KubeConfig for `identity`. */
  clientConfig(identity: Identity = 'admin'): KubeConfig {
    const config = new KubeConfig();
    config.loadFromFile(this.kubeconfigPath(identity));
    return config;
  }

  /** Applies CRD manifests (server-side) and waits until each CRD is Established, i.e.
   * served. Returns the CRD names. */
  async installCrds(files: readonly string[] = crdManifests()): Promise<string[]> {
    if (files.length === 0) return [];
    const applied = await kubectl(this, ['apply', '--server-side', '-o', 'name', ...files.flatMap((f) => ['-f', f])], {
      check: true,
    });
    const crds = applied.stdout
      .split('\n')
      .filter((line) => line.startsWith('customresourcedefinition.apiextensions.k8s.io/'));
    if (crds.length === 0) return [];
    const waited = await kubectl(this, ['wait', '--for=condition=Established', '--timeout=60s', ...crds]);
    if (waited.code !== 0) {
      throw new ControlPlaneError('CrdNotEstablished', `CRDs not established: ${waited.stderr.trim()}`);
    }
    return crds.map((line) => line.slice(line.indexOf('/') + 1));
  }

  /** Stops every component (SIGTERM, then SIGKILL) and removes the working directory,
   * except its logs when `keepLogs` is set. Idempotent. */
  stop(options: StopOptions = {}): Promise<void> {
    this.stopping ??= this.shutdown(options.keepLogs ?? false);
    return this.stopping;
  }

  private async boot(options: ControlPlaneOptions): Promise<void> {
    const timeoutMs = options.startTimeoutMs ?? 60_000;
    await this.startEtcd(timeoutMs);
    this.workloads = options.workloads ?? false;
    await this.startApiserver(timeoutMs);
    if (!options.workloads) {
      const access = await renderTestbedAccess();
      await kubectl(this, ['apply', '--server-side', '-f', '-'], { input: access, check: true });
    }
    // Before the controller manager, so that its garbage collector sees the CRDs' types at once.
    if (!options.workloads) await this.installCrds(options.crds ?? crdManifests());
    const controllers = [
      ...(options.controllers ?? defaultControllers),
      ...(options.workloads ? workloadControllers : []),
    ];
    if (controllers.length > 0) await this.startControllerManager(controllers);
    if (options.workloads) await this.startScheduler();
  }

  /** An outage: stops kube-apiserver and etcd (SIGTERM), keeping their data and ports;
   * clients see connections refused until restoreApi(). */
  async stopApi(): Promise<void> {
    for (const name of ['kube-apiserver', 'etcd']) {
      const component = this.processes.find((p) => p.name === name && p.running);
      await component?.stop();
    }
  }

  /** Starts etcd and kube-apiserver again on the same ports, with the same data. */
  async restoreApi(timeoutMs = 60_000): Promise<void> {
    await this.startEtcd(timeoutMs, this.etcdPorts);
    await this.startApiserver(timeoutMs, this.apiserverPort);
  }

  /** Stops kube-apiserver alone (etcd keeps running): every watch ends, and clients see
   * connections refused until restoreApiserver(). */
  async stopApiserver(): Promise<void> {
    await this.processes.find((p) => p.name === 'kube-apiserver' && p.running)?.stop();
  }

  /** Starts kube-apiserver again on the same port; its watch caches begin at etcd's
   * revision of that moment. */
  async restoreApiserver(timeoutMs = 60_000): Promise<void> {
    await this.startApiserver(timeoutMs, this.apiserverPort);
  }

  private async startEtcd(timeoutMs: number, ports?: { client: number; peer: number }): Promise<void> {
    await this.onPorts(ports !== undefined, async () => {
      const client = ports?.client ?? (await freeLoopbackPort());
      const peer = ports?.peer ?? (await freeLoopbackPort());
      const clientUrl = `http://127.0.0.1:${client}`;
      const peerUrl = `http://127.0.0.1:${peer}`;
      // prettier-ignore
      const etcd = this.launch('etcd', this.binaries.etcd, [
        '--name', 'crosstalk-e2e', '--data-dir', join(this.dir, 'etcd'),
        '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
        '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
        '--initial-cluster', `crosstalk-e2e=${peerUrl}`,
        // Test data: durability is not worth the fsync latency.
        '--unsafe-no-fsync', '--log-level', 'warn',
      ]);
      await waitHealthy(etcd, () => etcdHealthy(clientUrl), timeoutMs);
      this.etcdPorts = { client, peer };
    });
  }

  private async startApiserver(timeoutMs: number, fixedPort?: number): Promise<void> {
    const pki = this.pki;
    // /readyz is public (system:public-info-viewer); only the server's CA is needed.
    const ca = readFileSync(pki.serverCa.cert);
    await this.onPorts(fixedPort !== undefined, async () => {
      const port = fixedPort ?? (await freeLoopbackPort());
      // prettier-ignore
      const apiserver = this.launch('kube-apiserver', this.binaries.kubeApiserver, [
        '--etcd-servers', `http://127.0.0.1:${this.etcdPorts.client}`,
        '--bind-address', '127.0.0.1', '--secure-port', String(port),
        '--tls-cert-file', pki.serving.cert, '--tls-private-key-file', pki.serving.key,
        '--client-ca-file', pki.clientCa.cert,
        '--service-account-issuer', `https://127.0.0.1:${port}`,
        '--service-account-key-file', pki.serviceAccount.publicKey,
        '--service-account-signing-key-file', pki.serviceAccount.privateKey,
        '--authorization-mode', 'RBAC',
        '--service-cluster-ip-range', '10.0.0.0/24',
        '--allow-privileged=true',
        // Pods of tests and the node harness mount no service-account tokens; workloads do.
        ...(this.workloads ? [] : ['--disable-admission-plugins', 'ServiceAccount']),
        // The "kubernetes" endpoint would have to be a non-loopback address.
        '--endpoint-reconciler-type', 'none',
        '--profiling=false',
      ]);
      this.apiserverPort = port;
      await waitHealthy(apiserver, async () => (await httpsStatus(`${this.server}/readyz`, ca)) === 200, timeoutMs);
    });
  }

  private async startControllerManager(controllers: readonly string[]): Promise<void> {
    const kubeconfig = this.writeKubeconfig('kube-controller-manager', controllerManagerSubject);
    // prettier-ignore
    const kcm = this.launch('kube-controller-manager', this.binaries.kubeControllerManager, [
      '--kubeconfig', kubeconfig,
      '--controllers', controllers.join(','),
      // Each controller acts as its own service account (bootstrap RBAC roles), as in a cluster.
      '--use-service-account-credentials=true',
      '--leader-elect=false',
      '--secure-port', '0',
    ]);
    // It has no health endpoint without serving; a bad flag or credential ends it at once.
    await sleep(300);
    if (!kcm.running) {
      throw new ControlPlaneError('ComponentExited', `kube-controller-manager exited:\n${kcm.logTail()}`);
    }
  }

  /** The default scheduler binds pods (a DaemonSet's carry node affinity, not a node name). */
  private async startScheduler(): Promise<void> {
    const kubeconfig = this.writeKubeconfig('kube-scheduler', {
      commonName: 'system:kube-scheduler',
      organizations: [],
    });
    // prettier-ignore
    const scheduler = this.launch('kube-scheduler', this.binaries.kubeScheduler, [
      '--kubeconfig', kubeconfig, '--authentication-kubeconfig', kubeconfig, '--authorization-kubeconfig', kubeconfig,
      '--leader-elect=false', '--secure-port', '0',
    ]);
    await sleep(300);
    if (!scheduler.running) {
      throw new ControlPlaneError('ComponentExited', `kube-scheduler exited:\n${scheduler.logTail()}`);
    }
  }

  /** Starts a component on the ports it had (a restart), or on fresh ones. */
  private onPorts(fixed: boolean, start: () => Promise<void>): Promise<void> {
    return fixed ? start() : this.withFreePorts(start);
  }

  /** Starts a component on freshly chosen ports, choosing again when another process took
   * one of them in between (the port is released before the component binds it). */
  private async withFreePorts(start: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await start();
        return;
      } catch (err: unknown) {
        const clash = this.processes.at(-1)?.logTail(30).includes('address already in use') ?? false;
        if (!clash || attempt >= 3) throw err;
        const failed = this.processes.pop();
        await failed?.stop();
      }
    }
  }

  private launch(name: string, command: string, args: readonly string[]): SupervisedProcess {
    const component = SupervisedProcess.start(name, command, args, join(this.logDir, `${name}.log`));
    this.processes.push(component);
    appendFileSync(join(this.dir, pidsFile), `${component.pid}\n`);
    return component;
  }

  private writeKubeconfig(stem: string, subject: ClientSubject): string {
    const path = join(this.dir, 'kubeconfig', `${stem}.yaml`);
    if (existsSync(path)) return path;
    const cert = issueClientCertificate(this.pki, stem, subject);
    const kubeconfig = renderKubeconfig({
      server: this.server,
      caPem: readFileSync(this.pki.serverCa.cert, 'utf8'),
      certPem: readFileSync(cert.cert, 'utf8'),
      keyPem: readFileSync(cert.key, 'utf8'),
      user: subject.commonName,
    });
    writeFileSync(path, kubeconfig, { mode: 0o600 });
    return path;
  }

  private async shutdown(keepLogs: boolean): Promise<void> {
    // Controllers first, etcd last, so that nothing logs errors about a vanished etcd.
    for (const component of [...this.processes].reverse()) await component.stop();
    this.unregisterExitCleanup();
    removeDirectory(this.dir, keepLogs);
  }

  private killNow(): void {
    for (const component of this.processes) component.killNow();
    removeDirectory(this.dir, true);
    console.error(`control plane killed at exit; logs kept in ${this.logDir}`);
  }
}

/** Starts etcd, kube-apiserver and kube-controller-manager; see ControlPlane. */
export function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  return ControlPlane.start(options);
}

function prepareDirectory(dir: string | undefined): string {
  if (dir === undefined) return mkdtempSync(join(tmpdir(), tempPrefix));
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new ControlPlaneError('InvalidDirectory', `${dir} is not empty; give a new or empty directory`);
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Removes the directory, or everything in it but the logs. */
function removeDirectory(dir: string, keepLogs: boolean): void {
  if (!keepLogs) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  for (const entry of readdirSync(dir))
    if (entry !== 'logs') rmSync(join(dir, entry), { recursive: true, force: true });
}

/** Kills the components of control planes whose test process died without stopping them
 * (SIGKILL leaves no chance for exit handlers) and removes their directories. */
function reapAbandoned(): void {
  for (const dir of abandonedDirectories(tempPrefix)) {
    for (const pgid of readPids(join(dir, pidsFile))) {
      // Only a process started with this directory in its arguments: pids get reused.
      if (!readCmdline(pgid).includes(dir)) continue;
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function readPids(file: string): number[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

async function waitHealthy(
  component: SupervisedProcess,
  healthy: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!component.running) {
      throw new ControlPlaneError(
        'ComponentExited',
        `${component.name} exited while starting:\n${component.logTail()}`,
      );
    }
    if (await healthy()) return;
    if (Date.now() > deadline) {
      throw new ControlPlaneError(
        'StartTimeout',
        `${component.name} not healthy after ${timeoutMs} ms:\n${component.logTail()}`,
      );
    }
    await sleep(100);
  }
}

const etcdHealth = z.object({ health: z.literal('true') });

async function etcdHealthy(clientUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(2000) });
    return response.ok && etcdHealth.safeParse(await response.json()).success;
  } catch {
    return false;
  }
}

function httpsStatus(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const request = httpsGet(url, { ca, timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(0));
  });
}
