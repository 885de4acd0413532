import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

import { apiDoc, apiDocFile } from '../../../crds/api-doc.js';
import { crdManifests } from '../../../crds/manifests.js';

const crdsDir = new URL('../../../crds/', import.meta.url);

interface Version {
  additionalPrinterColumns: { name: string; jsonPath: string; priority?: number }[];
  selectableFields?: { jsonPath: string }[];
}

function version(file: string): Version {
  const crd = parse(readFileSync(new URL(file, crdsDir), 'utf8')) as { spec: { versions: Version[] } };
  return crd.spec.versions[0]!;
}

describe('committed CRD manifests', function () {
  it('are what `npm run crds` generates from the schemas (run it after changing crds/*.ts)', function () {
    for (const { file, yaml } of crdManifests()) {
      const committed = readFileSync(new URL(file, crdsDir), 'utf8');
      expect(committed === yaml, `crds/${file} is stale: run npm run crds`).to.be.true;
    }
  });

  it('come with docs/api.md as `npm run crds` generates it, every field described', function () {
    const committed = readFileSync(new URL(apiDocFile, crdsDir), 'utf8');
    expect(committed === apiDoc(), 'docs/api.md is stale: run npm run crds').to.be.true;
    const fieldRows = apiDoc()
      .split('\n')
      .filter((l) => l.startsWith('| `'));
    expect(fieldRows.length).to.be.greaterThan(100);
    // The description is the last column: a field without one would end in "|  |".
    expect(fieldRows.filter((l) => / \| {2}\|$/.test(l))).to.deep.equal([]);
  });

  it('give kubectl get dsess the columns of the design', function () {
    const columns = version('diagnosticsessions.crosstalk.dev.yaml').additionalPrinterColumns;
    expect(columns.filter((c) => !c.priority).map((c) => c.name.toUpperCase())).to.deep.equal([
      'PHASE',
      'NODES',
      'VICTIMS',
      'VERDICT',
      'TOP AGGRESSOR',
      'AGE',
    ]);
  });

  it('let each agent select its own NodeDiagnostics by spec.nodeName', function () {
    expect(version('nodediagnostics.crosstalk.dev.yaml').selectableFields).to.deep.equal([
      { jsonPath: '.spec.nodeName' },
    ]);
  });
});
