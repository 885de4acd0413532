// The VM lane's command line: mocha spec paths inside the checkout (default: the host's
// probe integration suite plus the pure-v2 tests), an optional grep, a timeout, --keep.
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { parseArgs } from 'node:util';

import { VmLaneError } from './errors.js';

export const defaultSpecs = ['test/integration', 'test/v2'];
const defaultTimeoutSeconds = 900;

export interface LaneOptions {
  /** mocha spec paths relative to the checkout. */
  readonly specs: readonly string[];
  readonly grep: string | undefined;
  readonly timeoutMs: number;
  /** Keep the run directory (disk image, serial log, results) for inspection. */
  readonly keep: boolean;
}

export function parseLaneArgs(argv: readonly string[], checkout: string): LaneOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { grep: { type: 'string' }, timeout: { type: 'string' }, keep: { type: 'boolean', default: false } },
    });
  } catch (err) {
    throw new VmLaneError('BadArgument', err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  const timeoutSeconds = values.timeout === undefined ? defaultTimeoutSeconds : Number(values.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new VmLaneError('BadArgument', `--timeout wants a positive number of seconds, not "${values.timeout}"`);
  }
  const specs = (positionals.length > 0 ? positionals : defaultSpecs).map((spec) => {
    const rel = isAbsolute(spec) ? relative(checkout, spec) : spec;
    if (rel.startsWith('..') || isAbsolute(rel) || /[\n\s]/.test(rel)) {
      throw new VmLaneError('BadArgument', `spec "${spec}" must be a path inside ${checkout} without whitespace`);
    }
    if (!existsSync(join(checkout, rel))) throw new VmLaneError('BadArgument', `spec "${spec}" does not exist`);
    return rel;
  });
  if (values.grep?.includes('\n')) throw new VmLaneError('BadArgument', '--grep must be a single line');
  return { specs, grep: values.grep, timeoutMs: timeoutSeconds * 1000, keep: values.keep };
}
