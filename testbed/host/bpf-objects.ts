// The BPF programs, maps and links in the kernel (bpftool prog/map/link show -j), and
// which process holds each through a file descriptor (/proc/<pid>/fdinfo): what a test
// counts to prove that a killed agent leaks nothing. An object no process holds and no
// bpffs path pins is kept alive only by a leak. Debian's bpftool prints no pids, hence
// the fdinfo walk.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export type BpfKind = 'prog' | 'map' | 'link';

export interface BpfObject {
  readonly kind: BpfKind;
  readonly id: number;
  /** Programs and maps: their name; links: their program's. */
  readonly name: string;
}

interface Shown {
  id: number;
  name?: string;
  prog_id?: number;
}

function show(kind: BpfKind): Shown[] {
  return JSON.parse(execFileSync('bpftool', [kind, 'show', '-j'], { encoding: 'utf8' }) || '[]') as Shown[];
}

/** Every program, map and link in the kernel. */
export function bpfObjects(): BpfObject[] {
  const progs = show('prog').map((p) => ({ kind: 'prog' as const, id: p.id, name: p.name ?? '' }));
  const progName = new Map(progs.map((p) => [p.id, p.name]));
  const maps = show('map').map((m) => ({ kind: 'map' as const, id: m.id, name: m.name ?? '' }));
  const links = show('link').map((l) => ({
    kind: 'link' as const,
    id: l.id,
    name: progName.get(l.prog_id ?? -1) ?? '',
  }));
  return [...progs, ...maps, ...links];
}

export const bpfKey = (kind: BpfKind, id: number) => `${kind}:${id}`;

const fdKinds: Record<string, BpfKind> = {
  'anon_inode:bpf-prog': 'prog',
  'anon_inode:bpf-map': 'map',
  'anon_inode:bpf_link': 'link', // sic: the kernel names link files with an underscore
};

/** The objects `pid` holds a descriptor of, as bpfKey()s. */
export function heldBy(pid: number | string): Set<string> {
  const held = new Set<string>();
  const fdDir = `/proc/${pid}/fd`;
  let fds: string[];
  try {
    fds = readdirSync(fdDir);
  } catch {
    return held; // exited meanwhile
  }
  for (const fd of fds) {
    try {
      const kind = fdKinds[readlinkSync(join(fdDir, fd))];
      if (!kind) continue;
      const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
      const id = new RegExp(`^${kind}_id:\\s+(\\d+)`, 'm').exec(info)?.[1];
      if (id) held.add(bpfKey(kind, Number(id)));
    } catch {
      // closed meanwhile
    }
  }
  return held;
}

/** The objects any process holds a descriptor of. */
export function heldByAnyProcess(): Set<string> {
  const held = new Set<string>();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) for (const k of heldBy(pid)) held.add(k);
  return held;
}

/** Paths pinned in bpffs (where it is mounted at /sys/fs/bpf), bpftool's own debug files aside. */
export function bpffsPins(): string[] {
  try {
    return readdirSync('/sys/fs/bpf', { recursive: true, encoding: 'utf8' }).filter(
      (p) => !['maps.debug', 'progs.debug'].includes(p),
    );
  } catch {
    return [];
  }
}
