// Temp directories that name the process owning them, so that a later run can clean up
// after a test process that was SIGKILLed (no exit handler ran).
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { processAlive } from './liveness.js';

const ownerFile = '.owner';

export function claimDirectory(dir: string): void {
  writeFileSync(join(dir, ownerFile), `${process.pid}\n`);
}

/** Leaves the directory (e.g. kept logs) to whoever reads it: no longer reaped. */
export function releaseDirectory(dir: string): void {
  rmSync(join(dir, ownerFile), { force: true });
}

/** Directories in the system temp dir named `<prefix>…` whose owner has died. */
export function abandonedDirectories(prefix: string): string[] {
  return readdirSync(tmpdir())
    .filter((entry) => entry.startsWith(prefix))
    .map((entry) => join(tmpdir(), entry))
    .filter((dir) => {
      const owner = Number(readOr(join(dir, ownerFile), '').trim());
      return owner > 0 && !processAlive(owner);
    });
}

function readOr(file: string, fallback: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}
