// Loads TypeScript through ts-node in transpile-only mode. Type checking is done once by
// `tsc --noEmit` (see package.json): Node 24's own type stripping would otherwise run
// the code unchecked and ts-node reports type errors as misleading syntax errors.
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

register('ts-node/esm/transpile-only', pathToFileURL('./'));
