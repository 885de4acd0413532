// Runs a host tool to completion and returns its stdout; any failure is a VmLaneError
// that quotes the command and its stderr, so a broken setup explains itself.
import { spawnSync } from 'node:child_process';

import { VmLaneError } from './errors.js';

export function runTool(command: string, args: readonly string[], options: { cwd?: string } = {}): string {
  const result = spawnSync(command, args, { cwd: options.cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  const shown = [command, ...args].join(' ');
  if (result.error) throw new VmLaneError('CommandFailed', `${shown}: could not start: ${result.error.message}`);
  if (result.status !== 0) {
    const why = result.signal ? `was killed by ${result.signal}` : `exited with ${result.status}`;
    throw new VmLaneError('CommandFailed', `${shown} ${why}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}
