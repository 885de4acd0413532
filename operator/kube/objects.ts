// What the operator reads from the API, parsed at the edge into the few fields it uses.
// Sessions and NodeDiagnostics keep spec and status unparsed here: a session whose spec
// does not parse still needs a reconcile (to say so in its conditions), and a NodeDiagnostic
// whose agent wrote a bad status must not hide the others.
import { z } from 'zod';

import { CodedError } from '../../common/errors.js';

import { objectMetaSchema, type ObjectMeta } from '../../crds/meta.js';

export class ParseError extends CodedError<'UnreadableObject'> {
  constructor(message: string) {
    super('UnreadableObject', message);
  }
}

/** `namespace/name`, or `name` for cluster-scoped objects: the work queue key. */
export function objectKey(meta: { namespace?: string | undefined; name: string }): string {
  return meta.namespace ? `${meta.namespace}/${meta.name}` : meta.name;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

function parseWith<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const result = schema.safeParse(raw);
  if (!result.success) throw new ParseError(`unreadable ${what}: ${z.prettifyError(result.error)}`);
  return result.data;
}

export interface PodInfo {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly nodeName: string | undefined;
  readonly phase: string | undefined;
  /** Deletion has begun: the pod is on its way out. */
  readonly terminating: boolean;
}

const podSchema = z.looseObject({
  metadata: objectMetaSchema,
  spec: z.looseObject({ nodeName: z.string().optional() }).optional(),
  status: z.looseObject({ phase: z.string().optional() }).optional(),
});

export function parsePod(raw: unknown): PodInfo {
  const pod = parseWith(podSchema, raw, 'pod');
  return {
    namespace: pod.metadata.namespace ?? '',
    name: pod.metadata.name,
    uid: pod.metadata.uid ?? '',
    labels: pod.metadata.labels ?? {},
    nodeName: pod.spec?.nodeName || undefined,
    phase: pod.status?.phase,
    terminating: pod.metadata.deletionTimestamp !== undefined,
  };
}

export interface NodeInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

const nodeSchema = z.looseObject({ metadata: objectMetaSchema });

export function parseNode(raw: unknown): NodeInfo {
  const node = parseWith(nodeSchema, raw, 'node');
  return { name: node.metadata.name, labels: node.metadata.labels ?? {} };
}

/** A DiagnosticSession with its metadata parsed and its spec and status left as written. */
export interface SessionObject {
  readonly metadata: ObjectMeta;
  readonly spec?: unknown;
  readonly status?: unknown;
}

const unparsedSchema = z.looseObject({
  metadata: objectMetaSchema,
  spec: z.unknown().optional(),
  status: z.unknown().optional(),
});

export function parseSession(raw: unknown): SessionObject {
  return parseWith(unparsedSchema, raw, 'DiagnosticSession');
}

/** A NodeDiagnostic: metadata parsed, spec.nodeName read, the rest as written. */
export interface ChildObject {
  readonly metadata: ObjectMeta;
  readonly nodeName: string;
  readonly spec: unknown;
  readonly status?: unknown;
}

const childSchema = z.looseObject({
  metadata: objectMetaSchema,
  spec: z.looseObject({ nodeName: z.string() }),
  status: z.unknown().optional(),
});

export function parseChild(raw: unknown): ChildObject {
  const child = parseWith(childSchema, raw, 'NodeDiagnostic');
  return { metadata: child.metadata, nodeName: child.spec.nodeName, spec: child.spec, status: child.status };
}

/** The UID of the object that controls this one (its ownerReference with controller=true). */
export function controllerUid(meta: ObjectMeta): string | undefined {
  return meta.ownerReferences?.find((r) => r.controller)?.uid;
}
