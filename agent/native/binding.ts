// Loads the compiled addon and checks its surface once, so the rest of the agent works
// with typed values and a stale or missing build fails here with a clear message.
// What the addon returns at run time is parsed by the façade (index.ts).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeSessionOptions {
  probes: number;
  flags?: number;
  btfPath?: string;
  ioSlowNs?: number;
  reclaimSlowNs?: number;
  runqSlowNs?: number;
  testMapEntries?: number;
  testRingBytes?: number;
}

/** A victim cgroup as the C API takes it (struct ct_target). */
export interface NativeTarget {
  readonly hierarchyId: number;
  readonly cgroupId: bigint;
}

export interface NativeSession {
  status(): unknown;
  setTargets(targets: readonly NativeTarget[]): void;
  attach(): void;
  readWindow(): Promise<ArrayBuffer>;
  drainEvents(): ArrayBuffer;
  programStats(): unknown;
  close(): void;
}

export type StructLayout = Record<string, number> & { size: number };

export interface NativeBinding {
  Session: new (options: NativeSessionOptions) => NativeSession;
  /** offsetof() of every record crossing into TypeScript, for the layout test. */
  layout: Record<string, StructLayout>;
  /** Numeric constants of bpf/*.h, for the constants test. */
  constants: Record<string, Record<string, number>>;
  /** Probe name -> enum ct_probe value. */
  probes: Record<string, number>;
}

/** The addon sits beside its sources (agent/native/build); found from the repository root so
 * that the compiled JavaScript (build/js/...) loads the same file as the TypeScript. */
export const addonPath = join(
  repositoryRoot(dirname(fileURLToPath(import.meta.url))),
  'agent/native/build/Release/crosstalk.node',
);

function repositoryRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'agent/native/binding.gyp'))) return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find the crosstalk checkout above ${from}`);
  }
}

let cached: NativeBinding | undefined;

function hasObject(value: object, key: string): boolean {
  return key in value && typeof (value as Record<string, unknown>)[key] === 'object';
}

export function loadBinding(): NativeBinding {
  if (cached) return cached;
  if (!existsSync(addonPath)) {
    throw new Error(`native addon not built (${addonPath} is missing): run \`npm run setup\``);
  }
  const loaded: unknown = createRequire(import.meta.url)(addonPath);
  if (
    typeof loaded !== 'object' ||
    loaded === null ||
    !('Session' in loaded && typeof loaded.Session === 'function') ||
    !hasObject(loaded, 'layout') ||
    !hasObject(loaded, 'constants') ||
    !hasObject(loaded, 'probes')
  ) {
    throw new Error(`native addon ${addonPath} does not export Session, layout, constants and probes: rebuild it`);
  }
  cached = loaded as NativeBinding;
  return cached;
}
