// The TypeScript face of crosstalk's kernel probes: open a set of probes, attach them,
// read cumulative counters as plain objects, close. Errors are ProbeError.
import { loadBinding, type NativeSession } from './binding.js';
import { ProbeError } from './errors.js';
import { decodeWindow, type RawWindow } from './layout.js';

export { ProbeError } from './errors.js';
export type { CpuCounters, RawWindow } from './layout.js';

export const probeNames = ['cpu'] as const;
export type ProbeName = (typeof probeNames)[number];

export interface ProbeOptions {
  probes: readonly ProbeName[];
  /** Kernel BTF used for CO-RE relocation; the running kernel's by default. */
  btfPath?: string;
}

export class ProbeSession {
  private constructor(private readonly native: NativeSession) {}

  /** Loads the probes into the kernel (not yet attached). Throws ProbeError. */
  static open(options: ProbeOptions): ProbeSession {
    const binding = loadBinding();
    let mask = 0;
    for (const name of options.probes) {
      const bit = binding.probes[name];
      if (bit === undefined) throw new Error(`the native addon has no ${name} probe: rebuild it`);
      mask |= 1 << bit;
    }
    try {
      return new ProbeSession(
        new binding.Session(
          options.btfPath === undefined ? { probes: mask } : { probes: mask, btfPath: options.btfPath },
        ),
      );
    } catch (err) {
      throw ProbeError.fromNative(err);
    }
  }

  attach(): void {
    try {
      this.native.attach();
    } catch (err) {
      throw ProbeError.fromNative(err);
    }
  }

  async read(): Promise<RawWindow> {
    try {
      return decodeWindow(await this.native.readWindow());
    } catch (err) {
      throw ProbeError.fromNative(err);
    }
  }

  /** Detaches and frees the probes; safe to call more than once. */
  close(): void {
    this.native.close();
  }
}
