// Debian's current 6.1 kernel for the guest: the ABI the linux-image-amd64 metapackage
// points at, downloaded once with apt and kept in the cache keyed by ABI and package
// version. Only the .deb and the boot image are kept (the module tree is 400 MB; the
// initramfs takes the few modules it needs from the .deb when it is rebuilt).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { runTool } from './command.js';
import { VmLaneError } from './errors.js';

export interface GuestKernel {
  /** Debian's kernel ABI name, e.g. `6.1.0-56-amd64`. */
  readonly abi: string;
  /** The linux-image package's Debian version, e.g. `6.1.192-2`. */
  readonly version: string;
  /** Cache directory holding everything derived from this kernel. */
  readonly dir: string;
  readonly vmlinuz: string;
  readonly deb: string;
}

const metapackage = 'linux-image-amd64';

/** The ABI named by `apt-cache depends linux-image-amd64` (its `linux-image-<abi>` dependency). */
export function parseImageAbi(aptCacheDepends: string): string | undefined {
  return /^\s*Depends:\s*linux-image-(\d[^\s]*)\s*$/m.exec(aptCacheDepends)?.[1];
}

/** The `Version:` field of `apt-cache show --no-all-versions <package>`. */
export function parsePackageVersion(aptCacheShow: string): string | undefined {
  return /^Version:\s*(\S+)\s*$/m.exec(aptCacheShow)?.[1];
}

function resolveFromApt(): { abi: string; version: string } | undefined {
  const abi = parseImageAbi(runTool('apt-cache', ['depends', metapackage]));
  if (!abi) return undefined;
  const version = parsePackageVersion(runTool('apt-cache', ['show', '--no-all-versions', `linux-image-${abi}`]));
  return version ? { abi, version } : undefined;
}

/** Returns the cached guest kernel, downloading it first when apt names a new one. */
export function ensureGuestKernel(cacheRoot: string, log: (line: string) => void): GuestKernel {
  let resolved = resolveFromApt();
  if (!resolved) {
    log(`apt does not know ${metapackage} yet: running apt-get update`);
    runTool('apt-get', ['update', '-qq']);
    resolved = resolveFromApt();
  }
  if (!resolved) {
    throw new VmLaneError('KernelUnresolved', `apt-cache names no linux-image-<abi> dependency of ${metapackage}`);
  }
  const { abi, version } = resolved;
  const dir = join(cacheRoot, `vm-${abi}-${version}`);
  const kernel: GuestKernel = { abi, version, dir, vmlinuz: join(dir, 'vmlinuz'), deb: join(dir, 'linux-image.deb') };
  if (existsSync(kernel.vmlinuz) && existsSync(kernel.deb)) return kernel;

  const started = Date.now();
  mkdirSync(cacheRoot, { recursive: true });
  const work = mkdtempSync(join(cacheRoot, `.vm-${abi}-`));
  try {
    // apt's sandbox user cannot write into a root-owned scratch directory.
    runTool('apt-get', ['download', '-qq', '-o', 'APT::Sandbox::User=root', `linux-image-${abi}=${version}`], {
      cwd: work,
    });
    const debName = readdirSync(work).find((f) => f.endsWith('.deb'));
    if (!debName) throw new VmLaneError('CommandFailed', `apt-get download left no .deb in ${work}`);
    const staged = join(work, 'vm');
    mkdirSync(staged);
    renameSync(join(work, debName), join(staged, 'linux-image.deb'));
    runTool('dpkg-deb', ['-x', join(staged, 'linux-image.deb'), join(work, 'x')]);
    renameSync(join(work, 'x', 'boot', `vmlinuz-${abi}`), join(staged, 'vmlinuz'));
    rmSync(dir, { recursive: true, force: true });
    renameSync(staged, dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  pruneOtherKernels(cacheRoot, dir);
  log(`fetched linux-image-${abi} ${version} in ${((Date.now() - started) / 1000).toFixed(1)} s into ${dir}`);
  return kernel;
}

/** Older guest kernels are dead weight once the mirror has moved on. */
function pruneOtherKernels(cacheRoot: string, keep: string): void {
  for (const entry of readdirSync(cacheRoot)) {
    const path = join(cacheRoot, entry);
    if (entry.startsWith('vm-') && path !== keep) rmSync(path, { recursive: true, force: true });
  }
}

/** The `.ko` paths of `modprobe --show-depends` output in load order, each once
 * (modules built into the kernel are listed as `builtin` and need no loading). */
export function parseShowDepends(output: string): string[] {
  const paths: string[] = [];
  for (const line of output.split('\n')) {
    const path = /^insmod\s+(\S+\.ko(?:\.xz|\.zst|\.gz)?)/.exec(line.trim())?.[1];
    if (path && !paths.includes(path)) paths.push(path);
  }
  return paths;
}

/** Extracts the kernel package into `into` and returns the absolute `.ko` paths that
 * loading `modules` needs, dependencies first. */
export function resolveModules(kernel: GuestKernel, modules: readonly string[], into: string): string[] {
  runTool('dpkg-deb', ['-x', kernel.deb, into]);
  runTool('depmod', ['-b', into, kernel.abi]);
  let output = '';
  for (const name of modules) output += runTool('modprobe', ['-d', into, '-S', kernel.abi, '--show-depends', name]);
  return parseShowDepends(output);
}
