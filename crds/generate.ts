// `npm run crds`: writes the CRD YAML files from the zod schemas.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { crdManifests } from './manifests.js';

for (const { file, yaml } of crdManifests()) {
  const path = fileURLToPath(new URL(file, import.meta.url));
  writeFileSync(path, yaml);
  console.log(`wrote ${path}`);
}
