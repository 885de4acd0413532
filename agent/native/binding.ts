// Loads the compiled addon and checks its surface once, so the rest of the agent works
// with typed values and a stale or missing build fails here with a clear message.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface NativeSession {
  attach(): void;
  readWindow(): Promise<ArrayBuffer>;
  close(): void;
}

export interface NativeSessionOptions {
  probes: number;
  btfPath?: string;
}

export type StructLayout = Record<string, number> & { size: number };

export interface NativeBinding {
  Session: new (options: NativeSessionOptions) => NativeSession;
  layout: Record<string, StructLayout>;
  probes: Record<string, number>;
}

export const addonPath = fileURLToPath(new URL('./build/Release/crosstalk.node', import.meta.url));

let cached: NativeBinding | undefined;

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
    !('layout' in loaded && typeof loaded.layout === 'object') ||
    !('probes' in loaded && typeof loaded.probes === 'object')
  ) {
    throw new Error(`native addon ${addonPath} does not export Session, layout and probes: rebuild it`);
  }
  cached = loaded as NativeBinding;
  return cached;
}
