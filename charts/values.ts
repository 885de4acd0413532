// The Helm chart's values as a zod schema: charts/crosstalk/values.schema.json is generated
// from it (`npm run crds`), so that `helm install --set agent.privileged=yes` fails with
// a message instead of rendering a broken DaemonSet.
import { z } from 'zod';

const quantity = z.union([z.string().regex(/^[0-9.]+[a-zA-Z]*$/), z.number()]);
const resources = z
  .object({
    requests: z.record(z.string(), quantity).optional(),
    limits: z.record(z.string(), quantity).optional(),
  })
  .strict();
const anyObject = z.record(z.string(), z.unknown());
const port = z.int().min(1).max(65535);
const logLevel = z.enum(['error', 'warn', 'info', 'debug']);
// Linux capability names as Kubernetes spells them (without CAP_).
const capability = z.string().regex(/^[A-Z_]+$/, 'a capability name such as BPF or PERFMON, without CAP_');

export const chartValuesSchema = z
  .object({
    image: z
      .object({
        repository: z.string().min(1),
        tag: z.string(),
        pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']),
      })
      .strict(),
    imagePullSecrets: z.array(z.object({ name: z.string().min(1) }).strict()),
    crds: z.object({ install: z.boolean() }).strict(),
    namespace: z
      .object({ create: z.boolean(), podSecurity: z.enum(['privileged', 'baseline', 'restricted']) })
      .strict(),
    operator: z
      .object({
        replicas: z.int().min(1).max(10),
        leaderElect: z.boolean(),
        logLevel,
        port,
        resources,
        nodeSelector: z.record(z.string(), z.string()),
        tolerations: z.array(anyObject),
        affinity: anyObject,
        extraArgs: z.array(z.string()),
      })
      .strict(),
    agent: z
      .object({
        logLevel,
        port,
        capabilities: z.array(capability),
        privileged: z.boolean(),
        allowConfirm: z.boolean(),
        stateDir: z.string().regex(/^\//, 'an absolute path on the node'),
        priorityClassName: z.string(),
        resources,
        tolerations: z.array(anyObject),
        nodeSelector: z.record(z.string(), z.string()),
        extraArgs: z.array(z.string()),
        extraEnv: z.array(anyObject),
        nodeUserPrefix: z.string(),
      })
      .strict(),
    rbac: z
      .object({
        extraOperatorSubjects: z.array(anyObject),
        extraAgentSubjects: z.array(anyObject),
      })
      .strict(),
    monitoring: z.object({ serviceMonitor: z.boolean(), podMonitor: z.boolean(), dashboard: z.boolean() }).strict(),
  })
  // Helm passes its own keys (global) to subcharts and parents.
  .extend({ global: anyObject.optional() })
  .strict();

export const chartValuesSchemaFile = '../charts/crosstalk/values.schema.json';

/** The JSON Schema Helm checks values against (draft 7, which Helm's validator reads). */
export function chartValuesJsonSchema(): string {
  const json = z.toJSONSchema(chartValuesSchema, { target: 'draft-7', io: 'input', unrepresentable: 'throw' });
  return `${JSON.stringify(json, null, 2)}\n`;
}
