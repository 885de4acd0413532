// The images a harness node holds, as `kind load image-archive` gives a kind node: OCI
// archives by reference (`crosstalk:0.1.0` -> /var/cache/.../crosstalk.oci.tar), each
// unpacked with umoci into a root filesystem once, on first use, and shared by the
// containers that run it.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';

import { HarnessError } from './errors.js';

const run = promisify(execFile);

export interface ImageConfig {
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly uid?: number;
  readonly gid?: number;
}

export interface UnpackedImage {
  readonly rootfs: string;
  readonly config: ImageConfig;
}

const indexJson = z.object({
  manifests: z.array(
    z.object({ digest: z.string(), annotations: z.record(z.string(), z.string()).optional() }).passthrough(),
  ),
});
const manifestJson = z.object({ config: z.object({ digest: z.string() }) });
const configJson = z.object({
  config: z
    .object({
      Entrypoint: z.array(z.string()).nullish(),
      Cmd: z.array(z.string()).nullish(),
      Env: z.array(z.string()).nullish(),
      User: z.string().nullish(),
    })
    .optional(),
});

export class ImageStore {
  private readonly unpacked = new Map<string, Promise<UnpackedImage>>();

  constructor(
    private readonly archives: Readonly<Record<string, string>>,
    private readonly dir: string,
  ) {}

  has(reference: string): boolean {
    return reference in this.archives;
  }

  unpack(reference: string): Promise<UnpackedImage> {
    let image = this.unpacked.get(reference);
    if (!image) {
      image = this.unpackOnce(reference, this.unpacked.size);
      this.unpacked.set(reference, image);
    }
    return image;
  }

  private async unpackOnce(reference: string, n: number): Promise<UnpackedImage> {
    const archive = this.archives[reference];
    if (archive === undefined) throw new HarnessError('UnrunnablePod', `image ${reference} is not loaded on this node`);
    const layout = join(this.dir, `image-${n}`, 'layout');
    const rootfs = join(this.dir, `image-${n}`, 'rootfs');
    mkdirSync(layout, { recursive: true });
    await run('tar', ['-xf', archive, '-C', layout]);
    const blob = (digest: string) =>
      JSON.parse(readFileSync(join(layout, 'blobs', ...digest.split(':')), 'utf8')) as unknown;
    const entry = indexJson.parse(JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'))).manifests[0];
    const refName = entry?.annotations?.['org.opencontainers.image.ref.name'];
    if (!entry || refName === undefined) throw new HarnessError('UnrunnablePod', `${archive} names no image`);
    await run('umoci', ['raw', 'unpack', '--image', `${layout}:${refName}`, rootfs]);
    const config = configJson.parse(blob(manifestJson.parse(blob(entry.digest)).config.digest)).config ?? {};
    const [uid, gid] = (config.User ?? '').split(':').map((x) => (x === '' ? undefined : Number(x)));
    return {
      rootfs,
      config: {
        entrypoint: config.Entrypoint ?? [],
        cmd: config.Cmd ?? [],
        env: Object.fromEntries(
          (config.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
        ),
        ...(uid !== undefined && !Number.isNaN(uid) && { uid }),
        ...(gid !== undefined && !Number.isNaN(gid) && { gid }),
      },
    };
  }
}
