// crosstalk's OCI image as the install lane and the demo use it: built by
// scripts/build-image.sh (`make image`; cached by its inputs, seconds when unchanged) and
// loaded into harness nodes by reference, like `kind load image-archive`.
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface CrosstalkImage {
  /** What the chart's pods name: `crosstalk:<version>`. */
  readonly reference: string;
  readonly ociArchive: string;
}

/** Why the image cannot be built and run here, or undefined (for requireOrSkip). */
export function missingImageTools(): string | undefined {
  const tools = ['buildah', 'skopeo', 'umoci', 'capsh', 'unshare'];
  const absent = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (absent.length > 0)
    return `needs ${absent.join(', ')} to build and run the image (scripts/setup.sh installs them)`;
  if (process.getuid?.() !== 0) return 'needs root to run the image in its own mount namespace';
  return undefined;
}

export async function crosstalkImage(): Promise<CrosstalkImage> {
  const { stdout } = await run('bash', [`${repoRoot}scripts/build-image.sh`], { maxBuffer: 16 * 1024 * 1024 });
  const ociArchive = stdout.trimEnd().split('\n').at(-1) ?? '';
  const { version } = JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')) as { version: string };
  return { reference: `crosstalk:${version}`, ociArchive };
}
