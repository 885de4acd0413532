// The pure cgroup-v2 VM lane: `npm run test:vm [-- <spec>...] [--grep <re>] [--timeout <s>] [--keep]`.
// Boots Debian's 6.1 kernel under QEMU with the host's root visible read-only, runs the
// named mocha specs inside (default: test/integration and test/v2) with the host's own
// Node, BPF objects and addon, prints the guest's mocha output verbatim (so CI counts
// its "N passing"/"N failing" lines) and exits non-zero on any failure.
import { createHash } from 'node:crypto';
import {
  closeSync,
  createWriteStream,
  existsSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { addonPath } from '../../agent/native/binding.js';
import { runTool } from './command.js';
import { parseLaneArgs } from './args.js';
import { VmLaneError } from './errors.js';
import { ensureInitramfs } from './initramfs.js';
import { ensureGuestKernel } from './kernel.js';
import { ensureKernelModule } from './kmod.js';
import { applyMarker, emptyReport } from './markers.js';
import { failureReasons } from './outcome.js';
import { bootGuest, type BootPlan } from './qemu.js';

const repo = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const diskBytes = 2 * 1024 ** 3;

function log(line: string): void {
  console.log(`vm lane: ${line}`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** A fresh ext4 image for every boot: a reused one would carry state between runs. */
function createDisk(path: string): void {
  const fd = openSync(path, 'w');
  ftruncateSync(fd, diskBytes);
  closeSync(fd);
  // Initialise inode tables and journal here, not in a guest kthread during the tests.
  runTool('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', path]);
}

/** Copies what the guest appends to `path` onto stdout as it arrives. */
function followFile(path: string): { poll: () => void } {
  let offset = 0;
  const buffer = Buffer.alloc(1 << 16);
  return {
    poll() {
      if (!existsSync(path)) return;
      const fd = openSync(path, 'r');
      try {
        for (let n; (n = readSync(fd, buffer, 0, buffer.length, offset)) > 0; offset += n) {
          process.stdout.write(buffer.subarray(0, n));
        }
      } finally {
        closeSync(fd);
      }
    },
  };
}

async function main(): Promise<number> {
  const started = Date.now();
  const options = parseLaneArgs(process.argv.slice(2), repo);
  // Paths travel on the kernel command line, which splits at whitespace.
  for (const path of [repo, process.execPath])
    if (/\s/.test(path)) throw new VmLaneError('BadArgument', `the path "${path}" contains whitespace`);
  if (!existsSync(addonPath)) throw new VmLaneError('NotBuilt', `${addonPath} is missing: run \`npm run setup\``);
  const hostAddonSha256 = createHash('sha256').update(readFileSync(addonPath)).digest('hex');

  const cache = process.env.CROSSTALK_CACHE ?? '/var/cache/crosstalk';
  const kernel = ensureGuestKernel(cache, log);
  const initrd = ensureInitramfs(kernel, log);
  ensureKernelModule(repo, kernel, log);
  log(`guest kernel package linux-image-${kernel.abi} ${kernel.version} (${kernel.dir})`);

  const run = mkdtempSync(join(tmpdir(), 'crosstalk-vm-'));
  const removeRun = () => rmSync(run, { recursive: true, force: true });
  if (!options.keep) process.once('exit', removeRun); // also when a signal stops the lane
  try {
    const resultsDir = join(run, 'results');
    mkdirSync(resultsDir);
    const mochaArgs = [...options.specs, ...(options.grep === undefined ? [] : ['--grep', options.grep])];
    writeFileSync(join(resultsDir, 'mocha-args'), mochaArgs.join('\n') + '\n');
    const disk = join(run, 'disk.img');
    createDisk(disk);

    const plan: BootPlan = {
      vmlinuz: kernel.vmlinuz,
      initrd,
      disk,
      resultsDir,
      guestScript: join(repo, 'testbed/vm/guest.sh'),
      repo,
      nodeBinDir: dirname(process.execPath),
      memoryMiB: 1024,
      cpus: 2,
    };
    log(`booting: mocha ${mochaArgs.join(' ')} (timeout ${seconds(options.timeoutMs)})`);
    const serialPath = join(run, 'serial.log');
    const serial = createWriteStream(serialPath);
    const report = emptyReport();
    const mochaOutput = followFile(join(resultsDir, 'mocha.log'));
    const follower = setInterval(mochaOutput.poll, 250);
    const boot = await bootGuest(plan, {
      timeoutMs: options.timeoutMs,
      onSerialLine: (line) => {
        serial.write(line + '\n');
        if (!applyMarker(report, line)) return;
        mochaOutput.poll(); // keep the guest's output in order around its markers
        log(`guest ${line.slice(line.indexOf(':') + 2)}`);
      },
    });
    clearInterval(follower);
    mochaOutput.poll();
    await new Promise((resolve) => serial.end(resolve));

    const reasons = failureReasons({
      report,
      timedOut: boot.timedOut,
      timeoutMs: options.timeoutMs,
      hostAddonSha256,
      hostNode: process.version,
    });
    log(`guest kernel: ${report.kernel ?? 'unknown'}`);
    log(
      `guest cgroup2 controllers: ${report.controllers ?? 'unknown'}; root subtree_control: ${report.subtreeControl ?? 'unknown'}`,
    );
    const rss = boot.peakRssKiB === undefined ? 'unknown' : `${(boot.peakRssKiB / 1024).toFixed(0)} MiB`;
    log(
      `wall ${seconds(Date.now() - started)} (qemu ${seconds(boot.wallMs)}), qemu peak RSS ${rss}, disk image ${(statSync(disk).blocks * 512) >> 20} MiB used`,
    );
    if (reasons.length === 0) {
      log('PASSED');
      return 0;
    }
    const tail = readFileSync(serialPath, 'utf8').trimEnd().split('\n').slice(-60);
    console.error(['vm lane: last lines of the guest serial console:', ...tail].join('\n'));
    for (const reason of reasons) log(`FAILED: ${reason}`);
    return 1;
  } finally {
    if (options.keep) log(`kept ${run}`);
    else removeRun();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof VmLaneError) console.error(`vm lane: ${err.code}: ${err.message}`);
    else console.error(err);
    process.exit(1);
  },
);
