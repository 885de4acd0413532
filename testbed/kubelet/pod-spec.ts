// What the harness needs from a Pod object to run it, parsed at the edge. The harness has
// no images, so each container must name its program in `command`.
import { z } from 'zod';

import { isValidNodeName } from '../cluster/identities.js';
import { containerLimits, podLimits, type CgroupLimits } from './cgroup-limits.js';
import type { QosClass } from './cgroup-layout.js';
import { HarnessError } from './errors.js';

/** Per-container CPU pinning (a taskset CPU list such as "0" or "0-1,3"): kubelet's CPU
 * manager has no spec field a test could set directly, so the harness reads an annotation. */
export const cpusAnnotationPrefix = 'harness.crosstalk.dev/cpus.';

export interface RunnableContainer {
  readonly name: string;
  readonly image: string;
  /** command followed by args. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cpus?: string;
  readonly limits: CgroupLimits;
}

export interface RunnablePod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly qosClass: QosClass;
  readonly limits: CgroupLimits;
  readonly containers: readonly RunnableContainer[];
}

const resourceList = z.record(z.string(), z.string()).optional();
const containerSchema = z.object({
  name: z.string().min(1),
  image: z.string().optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: z
    .array(z.object({ name: z.string(), value: z.string().optional(), valueFrom: z.unknown().optional() }))
    .optional(),
  resources: z.object({ requests: resourceList, limits: resourceList }).optional(),
});
const podSchema = z.object({
  metadata: z.object({
    name: z.string(),
    namespace: z.string(),
    uid: z.string(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.object({ nodeName: z.string().refine(isValidNodeName), containers: z.array(containerSchema).min(1) }),
  status: z.object({ qosClass: z.enum(['Guaranteed', 'Burstable', 'BestEffort']) }),
});

const cpuListPattern = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

/** Throws HarnessError('UnrunnablePod') with the reason a kubelet-like runtime would give. */
export function parseRunnablePod(pod: unknown): RunnablePod {
  const parsed = podSchema.safeParse(pod);
  if (!parsed.success) throw new HarnessError('UnrunnablePod', `not a runnable pod: ${z.prettifyError(parsed.error)}`);
  const { metadata, spec, status } = parsed.data;
  const where = `pod ${metadata.namespace}/${metadata.name}`;
  const containers = spec.containers.map((c): RunnableContainer => {
    if (!c.command?.length) {
      throw new HarnessError(
        'UnrunnablePod',
        `${where}: container ${c.name} has no command (the harness runs no images)`,
      );
    }
    const env: Record<string, string> = {};
    for (const variable of c.env ?? []) {
      if (variable.value === undefined) {
        throw new HarnessError(
          'UnrunnablePod',
          `${where}: env ${variable.name} uses valueFrom, which the harness does not resolve`,
        );
      }
      env[variable.name] = variable.value;
    }
    const cpus = metadata.annotations?.[`${cpusAnnotationPrefix}${c.name}`];
    if (cpus !== undefined && !cpuListPattern.test(cpus)) {
      throw new HarnessError('UnrunnablePod', `${where}: ${cpusAnnotationPrefix}${c.name}=${cpus} is not a CPU list`);
    }
    return {
      name: c.name,
      image: c.image ?? '',
      argv: [...c.command, ...(c.args ?? [])],
      env,
      ...(cpus !== undefined && { cpus }),
      limits: containerLimits(c.resources),
    };
  });
  return {
    namespace: metadata.namespace,
    name: metadata.name,
    uid: metadata.uid,
    qosClass: status.qosClass,
    limits: podLimits(spec.containers.map((c) => c.resources ?? {})),
    containers,
  };
}
