// `npm run crds`: writes the CRD YAML files and docs/api.md from the zod schemas.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { apiDoc, apiDocFile } from './api-doc.js';
import { crdManifests } from './manifests.js';

const outputs = [
  ...crdManifests().map(({ file, yaml }) => ({ file, text: yaml })),
  { file: apiDocFile, text: apiDoc() },
];
for (const { file, text } of outputs) {
  const path = fileURLToPath(new URL(file, import.meta.url));
  writeFileSync(path, text);
  console.log(`wrote ${path}`);
}
