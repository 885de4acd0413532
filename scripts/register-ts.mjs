// Loads TypeScript through ts-node in transpile-only mode. Type checking is done once by
// `tsc --noEmit` (see package.json): Node 24's own type stripping would otherwise run
// the code unchecked and ts-node reports type errors as misleading syntax errors.
// ts-node is resolved from the repository, so bin/crosstalk works from any directory.
import { register } from 'node:module';
import { URL } from 'node:url';

register('ts-node/esm/transpile-only', new URL('../', import.meta.url));
