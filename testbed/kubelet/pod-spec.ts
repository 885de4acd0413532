// What the harness needs from a Pod object to run it, parsed at the edge. A container
// either names its program in `command` (run as a process on the host, the harness's
// own workloads) or runs an image the harness holds (`images` of NodeHarness): then its
// security context, volumes, downward-API env and readiness probe are honoured too.
import { z } from 'zod';

import { isValidNodeName } from '../cluster/identities.js';
import { containerLimits, podLimits, type CgroupLimits } from './cgroup-limits.js';
import type { QosClass } from './cgroup-layout.js';
import { HarnessError } from './errors.js';
import { expandReferences } from './expansion.js';

/** Per-container CPU pinning (a taskset CPU list such as "0" or "0-1,3"): kubelet's CPU
 * manager has no spec field a test could set directly, so the harness reads an annotation. */
export const cpusAnnotationPrefix = 'harness.crosstalk.dev/cpus.';

/** Where a volume comes from on the host. */
export type VolumeSource =
  | { readonly kind: 'hostPath'; readonly path: string; readonly create: boolean }
  | { readonly kind: 'serviceAccount' }
  | { readonly kind: 'emptyDir' };

export interface VolumeMount {
  readonly volume: string;
  readonly source: VolumeSource;
  readonly mountPath: string;
  readonly readOnly: boolean;
}

export interface SecuritySettings {
  readonly privileged: boolean;
  /** Capabilities to add to and drop from the runtime's default set (names without CAP_). */
  readonly add: readonly string[];
  readonly drop: readonly string[];
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly readOnlyRootFilesystem: boolean;
  readonly allowPrivilegeEscalation: boolean;
}

export interface HttpProbe {
  readonly path: string;
  readonly port: number;
  readonly periodSeconds: number;
}

/** How an image container runs, beyond its program. */
export interface ImageRun {
  /** Pod command and args; absent ones come from the image's entrypoint and cmd. */
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly security: SecuritySettings;
  readonly mounts: readonly VolumeMount[];
  readonly readiness?: HttpProbe;
}

export interface RunnableContainer {
  readonly name: string;
  readonly image: string;
  /** command followed by args (process containers; empty for image containers). */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cpus?: string;
  readonly limits: CgroupLimits;
  readonly imageRun?: ImageRun;
}

export interface RunnablePod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly qosClass: QosClass;
  readonly limits: CgroupLimits;
  readonly hostPID: boolean;
  readonly serviceAccountName: string;
  /** Its address: the host's for process pods, one of its own on loopback for image pods. */
  readonly podIP: string;
  readonly containers: readonly RunnableContainer[];
}

/** What the node knows about a pod that its spec does not say. */
export interface PodPlacement {
  /** The address the pod gets if it runs an image (process pods share the host's). */
  readonly podIP: string;
  readonly hostIP: string;
  /** Whether the container's image is one the harness can run. */
  readonly hasImage: (image: string) => boolean;
}

const resourceList = z.record(z.string(), z.string()).optional();
const securityContext = z
  .object({
    privileged: z.boolean().optional(),
    capabilities: z.object({ add: z.array(z.string()).optional(), drop: z.array(z.string()).optional() }).optional(),
    runAsUser: z.number().optional(),
    runAsGroup: z.number().optional(),
    readOnlyRootFilesystem: z.boolean().optional(),
    allowPrivilegeEscalation: z.boolean().optional(),
  })
  .optional();
const envVar = z.object({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z
    .object({ fieldRef: z.object({ fieldPath: z.string() }).optional() })
    .passthrough()
    .optional(),
});
const containerSchema = z.object({
  name: z.string().min(1),
  image: z.string().optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: z.array(envVar).optional(),
  resources: z.object({ requests: resourceList, limits: resourceList }).optional(),
  securityContext,
  volumeMounts: z
    .array(z.object({ name: z.string(), mountPath: z.string(), readOnly: z.boolean().optional() }))
    .optional(),
  ports: z.array(z.object({ name: z.string().optional(), containerPort: z.number() })).optional(),
  readinessProbe: z
    .object({
      httpGet: z.object({ path: z.string().optional(), port: z.union([z.number(), z.string()]) }).optional(),
      periodSeconds: z.number().optional(),
    })
    .passthrough()
    .optional(),
});
const volumeSchema = z
  .object({
    name: z.string(),
    hostPath: z.object({ path: z.string(), type: z.string().optional() }).optional(),
    projected: z
      .object({ sources: z.array(z.object({ serviceAccountToken: z.unknown().optional() }).passthrough()) })
      .optional(),
    emptyDir: z.unknown().optional(),
  })
  .passthrough();
const podSchema = z.object({
  metadata: z.object({
    name: z.string(),
    namespace: z.string(),
    uid: z.string(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.object({
    nodeName: z.string().refine(isValidNodeName),
    containers: z.array(containerSchema).min(1),
    hostPID: z.boolean().optional(),
    serviceAccountName: z.string().optional(),
    securityContext: securityContext,
    volumes: z.array(volumeSchema).optional(),
  }),
  status: z.object({ qosClass: z.enum(['Guaranteed', 'Burstable', 'BestEffort']) }),
});
type PodJson = z.output<typeof podSchema>;
type ContainerJson = z.output<typeof containerSchema>;

const cpuListPattern = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

/** Throws HarnessError('UnrunnablePod') with the reason a kubelet-like runtime would give. */
export function parseRunnablePod(pod: unknown, placement: PodPlacement): RunnablePod {
  const parsed = podSchema.safeParse(pod);
  if (!parsed.success) throw new HarnessError('UnrunnablePod', `not a runnable pod: ${z.prettifyError(parsed.error)}`);
  const data = parsed.data;
  const { metadata, spec, status } = data;
  const where = `pod ${metadata.namespace}/${metadata.name}`;
  const runsImages = spec.containers.some((c) => !c.command?.length || placement.hasImage(c.image ?? ''));
  const podIP = runsImages ? placement.podIP : placement.hostIP;
  const containers = spec.containers.map((c): RunnableContainer => {
    const image = c.image ?? '';
    const runsImage = !c.command?.length || placement.hasImage(image);
    if (!c.command?.length && !placement.hasImage(image)) {
      throw new HarnessError(
        'UnrunnablePod',
        `${where}: container ${c.name} has no command and its image ${JSON.stringify(image)} is not loaded on this node`,
      );
    }
    const env = containerEnv(c, data, { ...placement, podIP }, where);
    const cpus = metadata.annotations?.[`${cpusAnnotationPrefix}${c.name}`];
    if (cpus !== undefined && !cpuListPattern.test(cpus)) {
      throw new HarnessError('UnrunnablePod', `${where}: ${cpusAnnotationPrefix}${c.name}=${cpus} is not a CPU list`);
    }
    const expand = (list: readonly string[] | undefined) => list?.map((arg) => expandReferences(arg, env));
    return {
      name: c.name,
      image,
      argv: runsImage ? [] : [...(expand(c.command) ?? []), ...(expand(c.args) ?? [])],
      env,
      ...(cpus !== undefined && { cpus }),
      limits: containerLimits(c.resources),
      ...(runsImage && {
        imageRun: {
          ...(c.command?.length && { command: expand(c.command) }),
          ...(c.args && { args: expand(c.args) }),
          security: securitySettings(spec.securityContext, c.securityContext),
          mounts: volumeMounts(c, spec.volumes ?? [], where),
          ...readiness(c, where),
        },
      }),
    };
  });
  return {
    namespace: metadata.namespace,
    name: metadata.name,
    uid: metadata.uid,
    qosClass: status.qosClass,
    limits: podLimits(spec.containers.map((c) => c.resources ?? {})),
    hostPID: spec.hostPID ?? false,
    serviceAccountName: spec.serviceAccountName ?? 'default',
    podIP,
    containers,
  };
}

/** The downward-API fields the harness can answer. */
function fieldValue(path: string, pod: PodJson, placement: PodPlacement): string | undefined {
  const fields: Record<string, string> = {
    'metadata.name': pod.metadata.name,
    'metadata.namespace': pod.metadata.namespace,
    'metadata.uid': pod.metadata.uid,
    'spec.nodeName': pod.spec.nodeName,
    'spec.serviceAccountName': pod.spec.serviceAccountName ?? 'default',
    'status.podIP': placement.podIP,
    'status.hostIP': placement.hostIP,
  };
  return fields[path];
}

function containerEnv(c: ContainerJson, pod: PodJson, placement: PodPlacement, where: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of c.env ?? []) {
    const fieldPath = variable.valueFrom?.fieldRef?.fieldPath;
    const value =
      variable.value !== undefined
        ? expandReferences(variable.value, env)
        : fieldPath !== undefined
          ? fieldValue(fieldPath, pod, placement)
          : undefined;
    if (value === undefined) {
      throw new HarnessError(
        'UnrunnablePod',
        `${where}: env ${variable.name} uses a valueFrom the harness does not resolve (only fieldRef of name, namespace, uid, nodeName, serviceAccountName, podIP, hostIP)`,
      );
    }
    env[variable.name] = value;
  }
  return env;
}

function securitySettings(
  pod: z.output<typeof securityContext>,
  container: z.output<typeof securityContext>,
): SecuritySettings {
  const runAsUser = container?.runAsUser ?? pod?.runAsUser;
  const runAsGroup = container?.runAsGroup ?? pod?.runAsGroup;
  return {
    privileged: container?.privileged ?? false,
    add: container?.capabilities?.add ?? [],
    drop: container?.capabilities?.drop ?? [],
    ...(runAsUser !== undefined && { runAsUser }),
    ...(runAsGroup !== undefined && { runAsGroup }),
    readOnlyRootFilesystem: container?.readOnlyRootFilesystem ?? false,
    allowPrivilegeEscalation: container?.allowPrivilegeEscalation ?? true,
  };
}

function volumeMounts(c: ContainerJson, volumes: z.output<typeof volumeSchema>[], where: string): VolumeMount[] {
  return (c.volumeMounts ?? []).map((m) => {
    const volume = volumes.find((v) => v.name === m.name);
    if (!volume) throw new HarnessError('UnrunnablePod', `${where}: volumeMount ${m.name} names no volume`);
    return {
      volume: m.name,
      source: volumeSource(volume, where),
      mountPath: m.mountPath,
      readOnly: m.readOnly ?? false,
    };
  });
}

function volumeSource(volume: z.output<typeof volumeSchema>, where: string): VolumeSource {
  if (volume.hostPath) {
    const create = volume.hostPath.type === 'DirectoryOrCreate';
    return { kind: 'hostPath', path: volume.hostPath.path, create };
  }
  // The API server's ServiceAccount admission adds this volume (token, CA, namespace).
  if (volume.projected?.sources.some((s) => s.serviceAccountToken !== undefined)) return { kind: 'serviceAccount' };
  if (volume.emptyDir !== undefined) return { kind: 'emptyDir' };
  throw new HarnessError(
    'UnrunnablePod',
    `${where}: volume ${volume.name} is of a kind the harness does not mount (hostPath, emptyDir and the service-account token only)`,
  );
}

function readiness(c: ContainerJson, where: string): { readiness?: HttpProbe } {
  const probe = c.readinessProbe;
  if (!probe) return {};
  if (!probe.httpGet) throw new HarnessError('UnrunnablePod', `${where}: only httpGet readiness probes are run`);
  const { port } = probe.httpGet;
  const number = typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort;
  if (number === undefined) throw new HarnessError('UnrunnablePod', `${where}: readiness port ${port} is not declared`);
  return { readiness: { path: probe.httpGet.path ?? '/', port: number, periodSeconds: probe.periodSeconds ?? 10 } };
}
