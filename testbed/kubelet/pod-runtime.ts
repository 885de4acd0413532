// One pod running on a harness node: its cgroups in the kubelet layout (limits applied),
// one real process per container (an image container inside its sandbox), and the status
// kubelet would publish as they start, pass their readiness probes and exit. Stopping
// kills the processes and removes the cgroups; deleting the API object is the node
// harness's part.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Hierarchy } from '../../agent/cgroups/mounts.js';
import { TestCgroup } from '../host/cgroups.js';
import { containerCgroupPath, podCgroupPath, type CgroupDriver, type QosClass } from './cgroup-layout.js';
import { applyLimits } from './cgroup-limits.js';
import { ContainerProcess, type ContainerExit } from './container-process.js';
import type { ImageStore } from './image-store.js';
import type { ImageRun, RunnableContainer, RunnablePod, VolumeMount } from './pod-spec.js';
import { podPhase, podStatus, type ContainerView } from './pod-status.js';
import { ReadinessProber } from './prober.js';
import { sandboxCommand, type SandboxMount } from './sandbox.js';

export interface HarnessContainer {
  readonly name: string;
  /** 64 hex digits, as containerd makes them; names the container's cgroup. */
  readonly id: string;
  /** `containerd://<id>`, as in the pod's containerStatuses. */
  readonly containerID: string;
  /** The container's main process. */
  readonly pid: number;
  readonly startedAt: Date;
  readonly cgroup: TestCgroup;
  /** stdout and stderr of the container. */
  readonly logFile: string;
  readonly exited: Promise<ContainerExit>;
}

export interface HarnessPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly qosClass: QosClass;
  /** The pod-level cgroup. */
  readonly cgroup: TestCgroup;
  readonly containers: readonly HarnessContainer[];
  /** The final phase, once every container has exited and that status is published. */
  readonly finished: Promise<'Succeeded' | 'Failed'>;
}

export interface PodEnvironment {
  readonly driver: CgroupDriver;
  /** The node's scope: a cgroup path relative to this process's own cgroup. */
  readonly scope: string;
  readonly hierarchies: readonly Hierarchy[];
  readonly logDir: string;
  readonly hostIP: string;
  readonly clock: () => Date;
  /** Writes a pod's status to the API server; reports its own failures, never rejects. */
  readonly publish: (pod: RunnablePod, status: Record<string, unknown>) => Promise<void>;
  readonly images: ImageStore;
  /** Where in-cluster clients find the API server (KUBERNETES_SERVICE_HOST/PORT). */
  readonly apiServer: { readonly host: string; readonly port: string };
  /** A directory holding the pod's service-account token, ca.crt and namespace. */
  readonly serviceAccountDir: (pod: RunnablePod) => Promise<string>;
}

export class PodRuntime implements HarnessPod {
  readonly finished: Promise<'Succeeded' | 'Failed'>;
  private statusChain: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly probers = new Map<string, ReadinessProber>();

  private constructor(
    private readonly pod: RunnablePod,
    private readonly env: PodEnvironment,
    readonly cgroup: TestCgroup,
    readonly containers: readonly (HarnessContainer & { readonly process: ContainerProcess })[],
    readonly startTime: Date,
  ) {
    for (const spec of pod.containers) {
      const probe = spec.imageRun?.readiness;
      if (probe) this.probers.set(spec.name, new ReadinessProber(pod.podIP, probe, () => void this.publishStatus()));
    }
    for (const container of containers) {
      void container.exited.then(() => {
        // As when a container's init process dies: whatever it left behind goes too.
        container.cgroup.killAll();
        return this.publishStatus();
      });
    }
    this.finished = Promise.all(containers.map((c) => c.exited))
      .then(() => this.publishStatus())
      .then(() => (podPhase(this.views()) === 'Succeeded' ? 'Succeeded' : 'Failed'));
  }

  /** Creates the cgroups, starts every container and publishes the Running status. */
  static async start(pod: RunnablePod, env: PodEnvironment): Promise<PodRuntime> {
    const startTime = env.clock();
    const podCgroup = TestCgroup.create(
      join(env.scope, podCgroupPath(env.driver, pod.qosClass, pod.uid)),
      env.hierarchies,
    );
    const started: (HarnessContainer & { readonly process: ContainerProcess })[] = [];
    try {
      applyLimits(podCgroup, pod.limits);
      const logDir = join(env.logDir, `${pod.namespace}_${pod.name}_${pod.uid}`);
      mkdirSync(logDir, { recursive: true });
      for (const spec of pod.containers) started.push(await startContainer(pod, spec, env, logDir));
    } catch (err: unknown) {
      for (const container of started) await container.cgroup.remove();
      await podCgroup.remove();
      throw err;
    }
    const runtime = new PodRuntime(pod, env, podCgroup, started, startTime);
    await runtime.publishStatus();
    return runtime;
  }

  get namespace(): string {
    return this.pod.namespace;
  }

  get name(): string {
    return this.pod.name;
  }

  get uid(): string {
    return this.pod.uid;
  }

  get qosClass(): QosClass {
    return this.pod.qosClass;
  }

  /** Stops the pod as kubelet does: SIGTERM, up to `graceMs` for its containers to exit,
   * then SIGKILL to whatever is left; removes its cgroups and publishes nothing more. */
  async stop(graceMs = 0): Promise<void> {
    this.stopped = true;
    for (const prober of this.probers.values()) prober.stop();
    if (graceMs > 0) {
      for (const container of this.containers) container.cgroup.killAll('SIGTERM');
      const grace = new AbortController();
      await Promise.race([
        Promise.all(this.containers.map((c) => c.exited)),
        sleep(graceMs, undefined, { signal: grace.signal }).catch(() => undefined),
      ]);
      grace.abort();
    }
    for (const container of this.containers) await container.cgroup.remove();
    await Promise.all(this.containers.map((c) => c.exited));
    await this.cgroup.remove();
  }

  /** Publishes the status as of when the write happens; writes never overtake each other. */
  private publishStatus(): Promise<void> {
    this.statusChain = this.statusChain.then(() => {
      if (this.stopped) return;
      return this.env.publish(
        this.pod,
        podStatus({
          startTime: this.startTime,
          hostIP: this.env.hostIP,
          podIP: this.pod.podIP,
          qosClass: this.pod.qosClass,
          containers: this.views(),
        }),
      );
    });
    return this.statusChain;
  }

  private views(): ContainerView[] {
    return this.containers.map((c) => {
      const exit = c.process.exit;
      return {
        name: c.name,
        image: this.pod.containers.find((spec) => spec.name === c.name)?.image ?? '',
        id: c.id,
        ...(this.probers.has(c.name) && { ready: !exit && (this.probers.get(c.name)?.ready ?? false) }),
        state: exit
          ? {
              kind: 'terminated',
              startedAt: c.startedAt,
              finishedAt: exit.finishedAt,
              exitCode: exit.exitCode,
              ...(exit.signal !== undefined && { signal: exit.signal }),
            }
          : { kind: 'running', startedAt: c.startedAt },
      };
    });
  }
}

async function startContainer(
  pod: RunnablePod,
  spec: RunnableContainer,
  env: PodEnvironment,
  logDir: string,
): Promise<HarnessContainer & { readonly process: ContainerProcess }> {
  const id = randomBytes(32).toString('hex');
  const cgroup = TestCgroup.create(
    join(env.scope, containerCgroupPath(env.driver, pod.qosClass, pod.uid, id)),
    env.hierarchies,
  );
  try {
    applyLimits(cgroup, spec.limits);
    const logFile = join(logDir, `${spec.name}.log`);
    const launch = spec.imageRun
      ? await imageLaunch(pod, spec, spec.imageRun, env, logDir)
      : { argv: spec.argv, env: { HOSTNAME: pod.name, ...spec.env } };
    const process = await ContainerProcess.start({
      cgroup,
      ...launch,
      ...(spec.cpus !== undefined && { cpus: spec.cpus }),
      logFile,
      clock: env.clock,
    });
    return {
      name: spec.name,
      id,
      containerID: `containerd://${id}`,
      pid: process.pid,
      startedAt: process.startedAt,
      cgroup,
      logFile,
      exited: process.exited,
      process,
    };
  } catch (err: unknown) {
    await cgroup.remove();
    throw err;
  }
}

/** The sandboxed program of an image container and its environment: the image's, the
 * in-cluster API address, the pod's; and, since a harness node's cgroups live beneath its
 * scope, CROSSTALK_CGROUP_SCOPE (what the agent's --cgroup-scope reads). */
async function imageLaunch(
  pod: RunnablePod,
  spec: RunnableContainer,
  run: ImageRun,
  env: PodEnvironment,
  logDir: string,
): Promise<{ argv: string[]; env: Record<string, string> }> {
  const image = await env.images.unpack(spec.image);
  const program = run.command ?? image.config.entrypoint;
  const args = run.args ?? (run.command ? [] : image.config.cmd);
  const mounts: SandboxMount[] = [];
  for (const m of run.mounts)
    mounts.push({ source: await volumeDir(pod, m, env, logDir), target: m.mountPath, readOnly: m.readOnly });
  const argv = sandboxCommand({
    rootfs: image.rootfs,
    argv: [...program, ...args],
    mounts,
    hostPID: pod.hostPID,
    security: run.security,
    uid: image.config.uid ?? 0,
    gid: image.config.gid ?? 0,
  });
  return {
    argv,
    env: {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      ...image.config.env,
      HOSTNAME: pod.name,
      KUBERNETES_SERVICE_HOST: env.apiServer.host,
      KUBERNETES_SERVICE_PORT: env.apiServer.port,
      CROSSTALK_CGROUP_SCOPE: env.scope,
      ...spec.env,
    },
  };
}

async function volumeDir(pod: RunnablePod, mount: VolumeMount, env: PodEnvironment, logDir: string): Promise<string> {
  switch (mount.source.kind) {
    case 'hostPath':
      if (mount.source.create) mkdirSync(mount.source.path, { recursive: true });
      return mount.source.path;
    case 'serviceAccount':
      return env.serviceAccountDir(pod);
    case 'emptyDir': {
      const dir = join(logDir, 'volumes', mount.volume);
      mkdirSync(dir, { recursive: true });
      return dir;
    }
  }
}
