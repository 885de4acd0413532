// The command line that runs an image container the way a container runtime would, from
// tools every Debian machine has: its own mount namespace (and PID namespace unless
// hostPID) with proc, a read-only sys, dev and the pod's volumes mounted into the image's
// root filesystem (read-only when the security context says so), then capsh chroots into
// it, sets the user, narrows the capability bounding set to what the security context
// keeps, sets no_new_privs and execs the program. It runs inside the container's cgroups
// because the harness spawns it there.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { HarnessError } from './errors.js';
import type { SecuritySettings } from './pod-spec.js';

export interface SandboxMount {
  /** A directory on the host. */
  readonly source: string;
  /** Where the container sees it. */
  readonly target: string;
  readonly readOnly: boolean;
}

export interface Sandbox {
  readonly rootfs: string;
  /** The program, as a path inside the root filesystem, and its arguments. */
  readonly argv: readonly string[];
  readonly mounts: readonly SandboxMount[];
  readonly hostPID: boolean;
  readonly security: SecuritySettings;
  /** The user when the security context names none (the image's USER, else root). */
  readonly uid: number;
  readonly gid: number;
}

/** containerd's default capability set, what a container keeps unless it drops them. */
const runtimeDefaults = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID',
  'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
]; // prettier-ignore

let hostCapabilities: readonly string[] | undefined;
let capshPath: string | undefined;

/** capsh lives in /usr/sbin, which is not on a container's PATH: the script names it whole. */
function capsh(): string {
  capshPath ??= spawnSync('sh', ['-c', 'command -v capsh'], { encoding: 'utf8' }).stdout.trim();
  if (!capshPath) throw new HarnessError('UnrunnablePod', 'capsh is missing (Debian package libcap2-bin)');
  return capshPath;
}

/** This kernel's capability names (cap_chown, ...), from the bounding set capsh prints. */
function capabilityNames(): readonly string[] {
  hostCapabilities ??= (
    /^Bounding set =(.*)$/m.exec(spawnSync('capsh', ['--print'], { encoding: 'utf8' }).stdout)?.[1] ?? ''
  )
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  if (hostCapabilities.length === 0) throw new HarnessError('UnrunnablePod', 'capsh --print shows no bounding set');
  return hostCapabilities;
}

/** The capabilities the container keeps, as capsh names them. */
export function keptCapabilities(security: SecuritySettings): string[] {
  const all = capabilityNames();
  if (security.privileged) return [...all];
  const drop = new Set(security.drop.map((c) => c.toUpperCase()));
  const base = drop.has('ALL') ? [] : runtimeDefaults.filter((c) => !drop.has(c));
  const kept = new Set([...base, ...security.add.map((c) => c.toUpperCase())].map((c) => `cap_${c.toLowerCase()}`));
  for (const c of kept) {
    if (!all.includes(c)) throw new HarnessError('UnrunnablePod', `capability ${c} is not in this host's bounding set`);
  }
  return [...kept];
}

/** argv for the harness to spawn in the container's cgroups. */
export function sandboxCommand(sandbox: Sandbox): string[] {
  const { rootfs, security } = sandbox;
  const uid = security.runAsUser ?? sandbox.uid;
  const gid = security.runAsGroup ?? sandbox.gid;
  const kept = keptCapabilities(security);
  if (uid !== 0 && kept.length > 0 && !security.privileged) {
    // Only ambient capabilities would carry them across exec for a non-root user.
    throw new HarnessError('UnrunnablePod', 'capabilities for a non-root user are not supported by the harness');
  }
  for (const dir of ['proc', 'sys', 'dev', ...sandbox.mounts.map((m) => m.target)]) {
    mkdirSync(join(rootfs, dir), { recursive: true });
  }
  const q = shellQuote;
  const lines = ['set -e', `mount --bind ${q(rootfs)} ${q(rootfs)}`];
  if (security.readOnlyRootFilesystem) lines.push(`mount -o remount,bind,ro ${q(rootfs)}`);
  lines.push(`mount -t proc proc ${q(join(rootfs, 'proc'))}`);
  lines.push(`mount --rbind /sys ${q(join(rootfs, 'sys'))}`);
  if (!security.privileged) lines.push(`mount -o remount,bind,ro ${q(join(rootfs, 'sys'))}`);
  lines.push(`mount --rbind /dev ${q(join(rootfs, 'dev'))}`);
  for (const m of sandbox.mounts) {
    const target = q(join(rootfs, m.target));
    lines.push(`mount --rbind ${q(m.source)} ${target}`);
    if (m.readOnly) lines.push(`mount -o remount,bind,ro ${target}`);
  }
  const options = [`--chroot=${rootfs}`];
  if (uid !== 0 || gid !== 0) options.push(`--gid=${gid}`, '--groups=');
  const dropped = capabilityNames().filter((c) => !kept.includes(c));
  if (dropped.length > 0) options.push(`--drop=${dropped.join(',')}`);
  if (!security.allowPrivilegeEscalation && !security.privileged) options.push('--no-new-privs');
  if (uid !== 0) options.push(`--uid=${uid}`);
  lines.push(`program=$1; shift; exec ${q(capsh())} ${options.map(q).join(' ')} --shell="$program" -- "$@"`);
  const [program, ...args] = sandbox.argv;
  if (program === undefined) throw new HarnessError('UnrunnablePod', 'the container has no program to run');
  const namespaces = ['--mount', '--propagation', 'private', ...(sandbox.hostPID ? [] : ['--pid', '--fork'])];
  return ['unshare', ...namespaces, '--', 'sh', '-c', lines.join('\n'), 'sandbox', program, ...args];
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
