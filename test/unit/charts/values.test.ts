import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

import { chartCrdTemplate, chartCrdTemplateFile } from '../../../charts/crd-template.js';
import { chartValuesJsonSchema, chartValuesSchema, chartValuesSchemaFile } from '../../../charts/values.js';

// The generators' paths are relative to crds/generate.ts, which writes them.
const read = (file: string) => readFileSync(new URL(file, new URL('../../../crds/', import.meta.url)), 'utf8');

describe('the Helm chart', function () {
  it('has the values schema and CRD template `npm run crds` generates (run it after changing them)', function () {
    expect(read(chartValuesSchemaFile) === chartValuesJsonSchema(), 'values.schema.json is stale').to.be.true;
    expect(read(chartCrdTemplateFile) === chartCrdTemplate(), 'templates/crds.yaml is stale').to.be.true;
  });

  it('ships default values that its own schema accepts', function () {
    const values: unknown = parse(read('../charts/crosstalk/values.yaml'));
    const parsed = chartValuesSchema.safeParse(values);
    expect(parsed.success, parsed.error?.message).to.be.true;
  });

  it('rejects misspelt and mistyped values', function () {
    const values = parse(read('../charts/crosstalk/values.yaml')) as Record<string, Record<string, unknown>>;
    const bad = [
      { ...values, agent: { ...values.agent, privileged: 'yes' } },
      { ...values, operator: { ...values.operator, replica: 2 } },
      { ...values, agent: { ...values.agent, capabilities: ['cap_bpf'] } },
      { ...values, agent: { ...values.agent, stateDir: 'var/lib' } },
    ];
    for (const b of bad) expect(chartValuesSchema.safeParse(b).success, JSON.stringify(b)).to.be.false;
  });
});
