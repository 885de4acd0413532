import { expect } from 'chai';
import { z } from 'zod';

import { customResourceDefinition, StructuralSchemaError, structuralSchema } from '../../../crds/crd.js';
import { defaulted } from '../../../crds/meta.js';

describe('zod to structural CRD schema', function () {
  it('keeps defaulted fields optional and carries defaults, descriptions and bounds', function () {
    const schema = structuralSchema(
      z.object({
        name: z.string().max(10).describe('a name'),
        count: z.int().min(1).max(5).default(2),
        nested: defaulted(z.object({ on: z.boolean().default(true) })),
      }),
    );
    expect(schema.required).to.deep.equal(['name']);
    expect(schema.properties?.name).to.include({ type: 'string', maxLength: 10, description: 'a name' });
    expect(schema.properties?.count).to.include({ type: 'integer', minimum: 1, maximum: 5, default: 2 });
    expect(schema.properties?.nested?.default, 'filled in: the apiserver checks defaults as written').to.deep.equal({
      on: true,
    });
    expect(schema.properties?.nested?.properties?.on?.default).to.equal(true);
    expect(schema).to.not.have.property('additionalProperties');
    expect(schema).to.not.have.property('$schema');
  });

  it("drops zod's safe-integer bounds and date-time regex, keeping real ones", function () {
    const schema = structuralSchema(z.object({ n: z.int().min(0), t: z.iso.datetime() }));
    expect(schema.properties?.n).to.deep.equal({ type: 'integer', minimum: 0 });
    expect(schema.properties?.t).to.deep.equal({ type: 'string', format: 'date-time' });
  });

  it('refuses what the apiserver would reject as non-structural', function () {
    const bad: Record<string, z.ZodType> = {
      union: z.object({ u: z.union([z.string(), z.number()]) }),
      'loose object': z.looseObject({ a: z.string() }),
      'untyped record': z.object({ r: z.record(z.string(), z.unknown()) }),
      'shared schema with an id (becomes $ref)': z.object({ a: z.string().meta({ id: 'Shared' }) }),
      lookahead: z.object({ p: z.string().regex(/^(?=a)a+$/) }),
      'unknown keyword': z.object({ a: z.string().meta({ title: 'A' }) }),
    };
    for (const [what, schema] of Object.entries(bad)) {
      expect(() => structuralSchema(schema), what).to.throw(StructuralSchemaError);
    }
  });

  it('builds a namespaced CRD with the status subresource, an Age column and selectable fields', function () {
    const crd = customResourceDefinition({
      kind: 'Thing',
      plural: 'things',
      singular: 'thing',
      shortNames: ['th'],
      description: 'a thing',
      spec: z.object({ nodeName: z.string() }),
      status: z.object({ phase: z.string().optional() }),
      printerColumns: [{ name: 'Phase', type: 'string', jsonPath: '.status.phase' }],
      selectableFields: ['.spec.nodeName'],
    });
    expect(crd).to.nested.include({ 'metadata.name': 'things.crosstalk.dev', 'spec.scope': 'Namespaced' });
    const v = (crd.spec as { versions: Record<string, unknown>[] }).versions[0]!;
    expect(v.subresources).to.deep.equal({ status: {} });
    expect(v.selectableFields).to.deep.equal([{ jsonPath: '.spec.nodeName' }]);
    expect((v.additionalPrinterColumns as { name: string }[]).map((c) => c.name)).to.deep.equal(['Phase', 'Age']);
  });
});
