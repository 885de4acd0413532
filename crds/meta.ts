// Building blocks shared by both kinds: API identity, Kubernetes name/ref/condition shapes
// and cross-field rules written once for both the apiserver (CEL) and the operator (zod).
import { z } from 'zod';

export const group = 'crosstalk.dev';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;

/** DNS-1123 label: namespaces, and most object names. */
export const dnsLabel = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);

/** DNS-1123 subdomain: names of pods, nodes and custom objects. */
export const dnsSubdomain = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);

export const uid = z.string().min(1).max(64);

/** RFC 3339 time as the apiserver writes it (`2026-11-25T12:00:00Z`). */
export const timestamp = z.iso.datetime({ offset: true });

/** A rule the schema alone cannot express: the apiserver checks `rule` (CEL) at admission and
 * the operator checks `holds` when it parses an object, so both reject the same input. */
export interface CrossFieldRule<T> {
  /** CEL over `self`, the value the rule is attached to. */
  readonly rule: string;
  /** Shown to the user by kubectl and in the session's InvalidSpec condition. */
  readonly message: string;
  /** The field the message is about, relative to `self` (e.g. `.duration`). */
  readonly fieldPath?: string;
  readonly holds: (value: T) => boolean;
}

/** Attaches cross-field rules to an object schema (CEL for the CRD, a refinement for zod). */
export function withRules<S extends z.ZodObject>(schema: S, rules: readonly CrossFieldRule<z.output<S>>[]): S {
  let checked = schema;
  for (const r of rules) {
    // zod runs refinements even when a field failed its own check: that field's issue is
    // the one to report, so a rule that cannot be evaluated counts as holding.
    const holds = (value: z.output<S>) => {
      try {
        return r.holds(value);
      } catch {
        return true;
      }
    };
    checked = checked.refine(holds, {
      message: r.message,
      ...(r.fieldPath ? { path: r.fieldPath.slice(1).split('.') } : {}),
    });
  }
  return checked.meta({
    'x-kubernetes-validations': rules.map((r) => ({
      rule: r.rule,
      message: r.message,
      ...(r.fieldPath ? { fieldPath: r.fieldPath } : {}),
    })),
  });
}

/** An object field that may be omitted: its default is the object with all of its own
 * defaults filled in (the apiserver checks a default against the object's CEL rules as it
 * stands, without applying nested defaults first, so `default: {}` would fail them). */
export function defaulted<S extends z.ZodObject>(schema: S) {
  return schema.default(schema.parse({}) as z.core.util.NoUndefined<z.output<S>>);
}

/** A list keyed by some of its items' fields: server-side apply merges it per item. */
export function listMap<T extends z.ZodType>(item: T, keys: readonly string[], maxItems: number) {
  return z
    .array(item)
    .max(maxItems)
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': [...keys] });
}

/** A list of unique scalars. */
export function listSet<T extends z.ZodType>(item: T, maxItems: number) {
  return z.array(item).max(maxItems).meta({ 'x-kubernetes-list-type': 'set' });
}

export const labelSelectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

export const labelSelectorRequirementSchema = withRules(
  z.object({
    key: z.string().min(1).max(317).describe('The label key the requirement applies to.'),
    operator: z
      .enum(labelSelectorOperators)
      .describe('In and NotIn compare with values; Exists and DoesNotExist test for the key only.'),
    values: z
      .array(z.string().max(63))
      .max(64)
      .optional()
      .describe('Label values: required (non-empty) for In and NotIn, absent for Exists and DoesNotExist.'),
  }),
  [
    {
      rule: "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)",
      message: 'operators In and NotIn need at least one value; Exists and DoesNotExist take none',
      holds: (r) => (r.operator === 'In' || r.operator === 'NotIn' ? (r.values?.length ?? 0) > 0 : !r.values?.length),
    },
  ],
);

/** The standard Kubernetes label selector (matchLabels AND matchExpressions). */
export const labelSelectorSchema = z.object({
  matchLabels: z
    .record(z.string(), z.string().max(63))
    .optional()
    .describe('Labels a pod must carry with exactly these values.'),
  matchExpressions: z
    .array(labelSelectorRequirementSchema)
    .max(32)
    .optional()
    .describe('Further requirements; all must hold.'),
});
export type LabelSelector = z.output<typeof labelSelectorSchema>;

export const conditionStatuses = ['True', 'False', 'Unknown'] as const;

/** metav1.Condition. */
export const conditionSchema = z.object({
  type: z
    .string()
    .min(1)
    .max(316)
    .regex(
      /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/,
    )
    .describe('What the condition is about, in CamelCase (e.g. TargetsResolved).'),
  status: z.enum(conditionStatuses),
  observedGeneration: z.int().min(0).optional().describe('The .metadata.generation the condition was computed from.'),
  lastTransitionTime: timestamp.describe('When status last changed.'),
  reason: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
    .describe('A CamelCase reason code for the last transition.'),
  message: z.string().max(32768).describe('What happened and what to do about it.'),
});
export type Condition = z.output<typeof conditionSchema>;

/** A namespaced pod, identified for good by its uid. */
export const podRefSchema = z.object({
  namespace: dnsLabel,
  name: dnsSubdomain,
  uid: uid.describe('The pod UID; a pod recreated under the same name is another pod.'),
});
export type PodRef = z.output<typeof podRefSchema>;

/** The part of an object's metadata crosstalk reads: what every edge parser accepts. */
export const objectMetaSchema = z.looseObject({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.number().optional(),
  resourceVersion: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
  ownerReferences: z
    .array(
      z.looseObject({
        apiVersion: z.string(),
        kind: z.string(),
        name: z.string(),
        uid: z.string(),
        controller: z.boolean().optional(),
      }),
    )
    .optional(),
  // client-node's typed lists hand back Date objects, watches hand back strings.
  creationTimestamp: z.union([z.string(), z.date().transform((d) => d.toISOString())]).optional(),
  deletionTimestamp: z.union([z.string(), z.date().transform((d) => d.toISOString())]).optional(),
});
export type ObjectMeta = z.output<typeof objectMetaSchema>;
