// The guest's initramfs: static busybox, stage 1 (init.sh) and the kernel modules it
// loads. Cached beside the kernel under a hash of everything that goes into it, so a
// changed init script or busybox rebuilds it and nothing else does.
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { runTool } from './command.js';
import { VmLaneError } from './errors.js';
import { resolveModules, type GuestKernel } from './kernel.js';

/** What stage 1 needs: the virtio PCI transport and disk, the 9p shares, ext4 for the
 * test disk and overlayfs for a writable root (all modules in Debian's kernel). */
export const guestModules = ['virtio_pci', 'virtio_blk', '9pnet_virtio', '9p', 'ext4', 'overlay'] as const;

const initScript = fileURLToPath(new URL('./init.sh', import.meta.url));
const busyboxPath = '/bin/busybox';

export function initramfsKey(inputs: {
  kernelDir: string;
  init: Buffer;
  busybox: Buffer;
  modules: readonly string[];
}): string {
  const hash = createHash('sha256');
  for (const part of [basename(inputs.kernelDir), inputs.init, inputs.busybox, inputs.modules.join(' ')]) {
    hash.update(part).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** Returns the cached initramfs for `kernel`, building it when its inputs changed. */
export function ensureInitramfs(kernel: GuestKernel, log: (line: string) => void): string {
  if (!existsSync(busyboxPath)) {
    throw new VmLaneError('CommandFailed', `${busyboxPath} is missing: install busybox-static (npm run setup does)`);
  }
  const init = readFileSync(initScript);
  const key = initramfsKey({ kernelDir: kernel.dir, init, busybox: readFileSync(busyboxPath), modules: guestModules });
  const target = join(kernel.dir, `initramfs-${key}.cpio.gz`);
  if (existsSync(target)) return target;

  const started = Date.now();
  const work = mkdtempSync(join(kernel.dir, '.initramfs-'));
  try {
    const root = join(work, 'root');
    for (const d of ['bin', 'dev', 'proc', 'sys', 'modules']) mkdirSync(join(root, d), { recursive: true });
    copyFileSync(busyboxPath, join(root, 'bin', 'busybox'));
    // `busybox --list` names busybox itself; linking that would replace the binary.
    for (const applet of runTool(busyboxPath, ['--list']).split('\n')) {
      if (applet && applet !== 'busybox') symlinkSync('busybox', join(root, 'bin', applet));
    }
    copyFileSync(initScript, join(root, 'init'));
    chmodSync(join(root, 'init'), 0o755);

    const order: string[] = [];
    for (const ko of resolveModules(kernel, guestModules, join(work, 'kernel'))) {
      const name = basename(ko);
      if (order.includes(name)) throw new VmLaneError('CommandFailed', `two guest modules are named ${name}`);
      copyFileSync(ko, join(root, 'modules', name));
      order.push(name);
    }
    writeFileSync(join(root, 'modules', 'order'), order.join('\n') + '\n');

    const staged = join(work, 'initramfs.cpio.gz');
    runTool('sh', ['-c', 'find . | cpio -o -H newc --quiet | gzip -1 > "$0"', staged], { cwd: root });
    for (const old of readdirSync(kernel.dir)) if (old.startsWith('initramfs-')) rmSync(join(kernel.dir, old));
    renameSync(staged, target);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  log(`built the initramfs in ${((Date.now() - started) / 1000).toFixed(1)} s: ${target}`);
  return target;
}
