// Boots the guest under QEMU's software emulation (KVM cannot run unmodified kernels on
// this machine kind) and reports how it ended: qemu's own exit status means nothing, so
// the caller judges the run by the guest's markers; a guest that outlives the timeout is
// killed. qemu's peak memory is its VmHWM, sampled while it runs.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';

export interface BootPlan {
  readonly vmlinuz: string;
  readonly initrd: string;
  /** Raw image attached as the guest's virtio disk (/dev/vda). */
  readonly disk: string;
  /** Host directory the guest mounts writable (tag `results`). */
  readonly resultsDir: string;
  /** Absolute paths of the stage-2 script, the checkout and the directory of the Node
   * binary the guest runs, as the host sees them. */
  readonly guestScript: string;
  readonly repo: string;
  readonly nodeBinDir: string;
  readonly memoryMiB: number;
  readonly cpus: number;
}

export interface BootResult {
  readonly timedOut: boolean;
  readonly wallMs: number;
  /** Highest VmHWM seen, in KiB; undefined if qemu exited before the first sample. */
  readonly peakRssKiB: number | undefined;
}

/** Unknown `name=value` parameters reach stage 1 as environment variables. */
export function kernelCommandLine(plan: BootPlan): string {
  return [
    'console=ttyS0',
    'quiet',
    // After quiet: warnings too reach the console (quiet alone shows errors and worse),
    // so the lane sees a kernel WARNING from the module (markers.ts).
    'loglevel=5',
    // An oops powers the guest off (-no-reboot) instead of hanging until the timeout.
    'panic=-1',
    'oops=panic',
    // Pure cgroup v2: no v1 hierarchy can claim a controller.
    'cgroup_no_v1=all',
    `crosstalk_guest=${plan.guestScript}`,
    `crosstalk_repo=${plan.repo}`,
    `crosstalk_node=${plan.nodeBinDir}`,
  ].join(' ');
}

export function qemuArgs(plan: BootPlan): string[] {
  return [
    ...['-machine', 'q35', '-cpu', 'max', '-smp', String(plan.cpus), '-m', String(plan.memoryMiB)],
    // tb-size bounds the translation cache, most of qemu's memory (1.6 GB -> 0.95 GB).
    ...['-accel', 'tcg,tb-size=256', '-nographic', '-no-reboot', '-nic', 'none'],
    ...['-kernel', plan.vmlinuz, '-initrd', plan.initrd, '-append', kernelCommandLine(plan)],
    // remap: the host root spans several filesystems, whose inode numbers could collide.
    ...['-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap'],
    ...['-virtfs', `local,path=${plan.resultsDir},mount_tag=results,security_model=none`],
    ...['-drive', `file=${plan.disk},format=raw,if=virtio`],
  ];
}

/** VmHWM from /proc/<pid>/status text, in KiB. */
export function parseVmHwm(status: string): number | undefined {
  const kib = /^VmHWM:\s*(\d+)\s*kB$/m.exec(status)?.[1];
  return kib === undefined ? undefined : Number(kib);
}

export function bootGuest(
  plan: BootPlan,
  options: { timeoutMs: number; onSerialLine: (line: string) => void },
): Promise<BootResult> {
  const started = Date.now();
  const qemu = spawn('qemu-system-x86_64', qemuArgs(plan), { stdio: ['ignore', 'pipe', 'pipe'] });
  const killQemu = () => qemu.kill('SIGKILL');
  // A runner stopped by a signal (CI's time limit, Ctrl-C) must not leave qemu behind.
  const stopSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  // Exiting (rather than dying of the signal) runs the caller's exit handlers too.
  const onSignal = (signal: NodeJS.Signals) => process.exit(128 + constants.signals[signal]);
  const forget = () => {
    process.removeListener('exit', killQemu);
    for (const signal of stopSignals) process.removeListener(signal, onSignal);
  };
  process.once('exit', killQemu);
  for (const signal of stopSignals) process.once(signal, onSignal);

  let peakRssKiB: number | undefined;
  const sampleRss = () => {
    try {
      const hwm = parseVmHwm(readFileSync(`/proc/${qemu.pid}/status`, 'utf8'));
      if (hwm !== undefined) peakRssKiB = Math.max(peakRssKiB ?? 0, hwm);
    } catch {
      // qemu has just exited; the previous sample stands
    }
  };
  const sampler = setInterval(sampleRss, 500);

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    sampleRss();
    killQemu();
  }, options.timeoutMs);

  // The serial console ends lines with CRLF; qemu's own warnings come on stderr.
  for (const stream of [qemu.stdout, qemu.stderr]) {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) =>
      options.onSerialLine(line.replace(/\r$/, '')),
    );
  }

  return new Promise((resolve, reject) => {
    qemu.once('error', (err) => {
      clearInterval(sampler);
      clearTimeout(timer);
      forget();
      reject(err);
    });
    qemu.once('close', () => {
      clearInterval(sampler);
      clearTimeout(timer);
      forget();
      resolve({ timedOut, wallMs: Date.now() - started, peakRssKiB });
    });
  });
}
