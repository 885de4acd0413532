// `npm run crds`: writes the CRD YAML files, docs/api.md and the chart's CRD template and
// values schema from the zod schemas.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { chartCrdTemplate, chartCrdTemplateFile } from '../charts/crd-template.js';
import { chartValuesJsonSchema, chartValuesSchemaFile } from '../charts/values.js';
import { apiDoc, apiDocFile } from './api-doc.js';
import { crdManifests } from './manifests.js';

const outputs = [
  ...crdManifests().map(({ file, yaml }) => ({ file, text: yaml })),
  { file: apiDocFile, text: apiDoc() },
  { file: chartCrdTemplateFile, text: chartCrdTemplate() },
  { file: chartValuesSchemaFile, text: chartValuesJsonSchema() },
];
for (const { file, text } of outputs) {
  const path = fileURLToPath(new URL(file, import.meta.url));
  writeFileSync(path, text);
  console.log(`wrote ${path}`);
}
