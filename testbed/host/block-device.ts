// The block device a path lives on, named as cgroup v2's io.* files name it.
import { statSync } from 'node:fs';

/** "major:minor" of the filesystem holding `path` (glibc's dev_t encoding). */
export function blockDeviceOf(path: string): string {
  const dev = statSync(path, { bigint: true }).dev;
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}
