// Pressure stall information of one cgroup: the cumulative stall times in a cgroup v2
// directory's cpu.pressure, io.pressure and memory.pressure, and their deltas over a
// window. "some" is time at least one task of the cgroup stalled on the resource, "full"
// time all its non-idle tasks did at once (kernel Documentation/accounting/psi.rst).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { CodedError, errorCode } from '../common/errors.js';

export const psiResources = ['cpu', 'io', 'memory'] as const;
export type PsiResource = (typeof psiResources)[number];

/** Cumulative stall time in microseconds, as the kernel's `total=` fields. */
export interface PsiTotals {
  readonly someUs: bigint;
  /** Absent where the kernel has no "full" line (cpu before 5.13). */
  readonly fullUs: bigint | undefined;
}

export type PsiSnapshot = Readonly<Record<PsiResource, PsiTotals>>;

/** Stall time over one window and its share of the window's length. */
export interface PsiWindowStall {
  readonly someUs: bigint;
  readonly fullUs: bigint | undefined;
  readonly somePercent: number;
  readonly fullPercent: number | undefined;
}

export type PsiWindow = Readonly<Record<PsiResource, PsiWindowStall>>;

export type PsiErrorCode = 'PsiUnsupported' | 'PsiMalformed';

export class PsiError extends CodedError<PsiErrorCode> {}

const linePattern = /^(some|full) avg10=\d+\.\d+ avg60=\d+\.\d+ avg300=\d+\.\d+ total=(\d+)$/;

/** Parses the text of one `<resource>.pressure` file. */
export function parsePressure(text: string, source = 'pressure file'): PsiTotals {
  let someUs: bigint | undefined;
  let fullUs: bigint | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const match = linePattern.exec(line.trim());
    if (!match) throw new PsiError('PsiMalformed', `${source}: unexpected line "${line}"`);
    if (match[1] === 'some') someUs = BigInt(match[2] ?? '0');
    else fullUs = BigInt(match[2] ?? '0');
  }
  if (someUs === undefined) throw new PsiError('PsiMalformed', `${source}: no "some" line`);
  return { someUs, fullUs };
}

/** Reads the three pressure files of a cgroup v2 directory. */
export function readPsi(cgroupDir: string, readText: (path: string) => string = readUtf8): PsiSnapshot {
  const snapshot: Partial<Record<PsiResource, PsiTotals>> = {};
  for (const resource of psiResources) {
    const path = join(cgroupDir, `${resource}.pressure`);
    let text: string;
    try {
      text = readText(path);
    } catch (err) {
      // Kernels without CONFIG_PSI, booted with psi=0, or a v1-only cgroup.
      if (errorCode(err) === 'ENOENT' || errorCode(err) === 'EOPNOTSUPP') {
        throw new PsiError('PsiUnsupported', `${path} is not available: the kernel does not account pressure here`);
      }
      throw err;
    }
    snapshot[resource] = parsePressure(text, path);
  }
  return snapshot as PsiSnapshot;
}

/** Stall time between two snapshots of the same cgroup taken `windowUs` apart. A total
 * that went down means the cgroup was removed and created again: its stall time since
 * then is the whole new total. */
export function psiDelta(before: PsiSnapshot, after: PsiSnapshot, windowUs: number): PsiWindow {
  if (!(windowUs > 0)) throw new RangeError(`psi window must be positive, not ${windowUs} us`);
  const delta = (a: bigint, b: bigint): bigint => (b >= a ? b - a : b);
  const percent = (us: bigint): number => Math.min(100, (Number(us) * 100) / windowUs);
  const window: Partial<Record<PsiResource, PsiWindowStall>> = {};
  for (const resource of psiResources) {
    const a = before[resource];
    const b = after[resource];
    const someUs = delta(a.someUs, b.someUs);
    const fullUs = a.fullUs === undefined || b.fullUs === undefined ? undefined : delta(a.fullUs, b.fullUs);
    window[resource] = {
      someUs,
      fullUs,
      somePercent: percent(someUs),
      fullPercent: fullUs === undefined ? undefined : percent(fullUs),
    };
  }
  return window as PsiWindow;
}

function readUtf8(path: string): string {
  return readFileSync(path, 'utf8');
}
