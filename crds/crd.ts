// zod -> CustomResourceDefinition. zod's own JSON Schema output is close to what the
// apiserver accepts but not equal: this module converts with the input view (defaulted
// fields stay optional), strips what zod adds for its own runtime (±2^53 integer bounds,
// date-time regexes) and refuses anything a structural schema may not contain, so a bad
// schema fails here rather than at `kubectl apply`.
import { z } from 'zod';

import { CodedError } from '../common/errors.js';

import { group, version } from './meta.js';

export interface JsonSchemaProps {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, JsonSchemaProps>;
  required?: string[];
  items?: JsonSchemaProps;
  additionalProperties?: JsonSchemaProps | boolean;
  default?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  [key: string]: unknown;
}

export class StructuralSchemaError extends CodedError<'NonStructuralSchema'> {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super('NonStructuralSchema', `${path || '<root>'}: ${problem}`);
  }
}

/** Keywords the apiserver's JSONSchemaProps knows and structural schemas allow. */
const allowedKeywords = new Set([
  'type',
  'format',
  'description',
  'properties',
  'required',
  'items',
  'additionalProperties',
  'enum',
  'default',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
]);

/** Constructs Go's RE2 cannot compile: lookaround and backreferences. */
const nonRe2 = /\(\?[=!]|\(\?<[=!]|\\[1-9]/;

/** Converts a zod schema to a structural OpenAPI v3 schema for a CRD. Throws StructuralSchemaError. */
export function structuralSchema(schema: z.ZodType): JsonSchemaProps {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'throw' });
  return normalise(json, '');
}

function normalise(node: unknown, path: string): JsonSchemaProps {
  if (typeof node !== 'object' || node === null || Array.isArray(node))
    throw new StructuralSchemaError(path, 'not a schema object');
  const out: JsonSchemaProps = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema') continue;
    if (!allowedKeywords.has(key))
      throw new StructuralSchemaError(
        path,
        `"${key}" is not allowed in a structural schema (unions, refs and ids are not)`,
      );
    out[key] = value;
  }
  if (out.type === undefined) throw new StructuralSchemaError(path, 'every node needs a type');
  if (out.type === 'integer') {
    // zod's z.int() carries JavaScript's safe-integer range, meaningless for int64.
    if (out.minimum === Number.MIN_SAFE_INTEGER) delete out.minimum;
    if (out.maximum === Number.MAX_SAFE_INTEGER) delete out.maximum;
  }
  if (out.format === 'date-time') delete out.pattern;
  if (out.pattern !== undefined && nonRe2.test(out.pattern))
    throw new StructuralSchemaError(path, `pattern ${out.pattern} uses lookaround or backreferences (not RE2)`);
  if (out.properties) {
    if (out.additionalProperties !== undefined)
      throw new StructuralSchemaError(path, 'properties and additionalProperties are mutually exclusive');
    out.properties = Object.fromEntries(
      Object.entries(out.properties).map(([name, child]) => [name, normalise(child, `${path}.${name}`)]),
    );
  }
  if (out.additionalProperties !== undefined) {
    if (typeof out.additionalProperties !== 'object' || Object.keys(out.additionalProperties).length === 0)
      throw new StructuralSchemaError(path, 'a map needs a typed value schema');
    out.additionalProperties = normalise(out.additionalProperties, `${path}[*]`);
  }
  if (out.type === 'object' && !out.properties && out.additionalProperties === undefined)
    throw new StructuralSchemaError(path, 'an object needs properties or a typed map value');
  if (out.type === 'array') {
    if (!out.items) throw new StructuralSchemaError(path, 'an array needs items');
    out.items = normalise(out.items, `${path}[]`);
  }
  return out;
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  /** 0: shown by `kubectl get`; 1: only with `-o wide`. */
  priority?: 0 | 1;
}

export interface CrdDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
  /** JSON paths usable in field selectors (e.g. `.spec.nodeName`). */
  selectableFields?: string[];
}

/** The apiextensions.k8s.io/v1 CustomResourceDefinition object of a kind. */
export function customResourceDefinition(def: CrdDefinition): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: ['crosstalk'],
      },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            ...def.printerColumns,
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          ...(def.selectableFields ? { selectableFields: def.selectableFields.map((jsonPath) => ({ jsonPath })) } : {}),
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: def.description,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: structuralSchema(def.spec),
                status: structuralSchema(def.status),
              },
            },
          },
        },
      ],
    },
  };
}
