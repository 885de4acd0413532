// The kernel-module backend for the guest: crosstalk.ko built from kmod/ against the
// headers of the guest's own Debian ABI (installed with apt when missing), so its
// vermagic matches the kernel the lane boots. The guest finds it at kmod/crosstalk.ko
// in the shared checkout.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { runTool } from './command.js';
import type { GuestKernel } from './kernel.js';

export function ensureKernelModule(repo: string, kernel: GuestKernel, log: (line: string) => void): string {
  const headers = `linux-headers-${kernel.abi}`;
  if (!existsSync(join('/usr/src', headers))) {
    log(`installing ${headers} to build the kernel module`);
    runTool('apt-get', ['install', '-y', '-qq', '--no-install-recommends', headers]);
  }
  const started = Date.now();
  runTool('make', ['-s', '-C', join(repo, 'kmod'), `KVER=${kernel.abi}`]);
  log(`kernel module built for ${kernel.abi} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return join(repo, 'kmod/crosstalk.ko');
}
