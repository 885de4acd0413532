// The native face of crosstalk's kernel probes: the C API of bpf/crosstalk.h, with
// arguments validated, results parsed, buffers decoded into raw cumulative records and
// every failure turned into a ProbeError. agent/probes builds the typed windows on it.
import { z } from 'zod';

import { loadBinding, type NativeSession, type NativeTarget } from './binding.js';
import { attachModes, options as optionBits, states } from './constants.js';
import { ProbeError } from './errors.js';
import { decodeSections, type RawSections } from './layout.js';

export { ProbeError } from './errors.js';
export type { RawRecord, RawSections } from './layout.js';

/** In enum ct_probe order. */
export const probeNames = ['cpu', 'io', 'memory', 'cache', 'lifecycle'] as const;
export type ProbeName = (typeof probeNames)[number];

export type ProbeState = keyof typeof states;
export type AttachMode = Exclude<keyof typeof attachModes, 'none'>;

export interface NativeOptions {
  readonly probes: readonly ProbeName[];
  readonly btfPath?: string;
  readonly ioSlowNs: number;
  readonly reclaimSlowNs: number;
  readonly captureStacks: boolean;
  readonly forceRawTracepoints: boolean;
  readonly softwareCounters: boolean;
  readonly allCgroups?: boolean | undefined;
  /** Slow run-queue wait records above this wait; none when absent. */
  readonly runqSlowNs?: number | undefined;
  readonly cacheByTask?: boolean | undefined;
  /** Where the probes run: eBPF programs, or the kernel module's (/dev/crosstalk). */
  readonly backend?: ProbeBackend | undefined;
  /** Tests only: see ProbeOptions.testSizes. */
  readonly testSizes?: { readonly mapEntries: number; readonly ringBytes: number } | undefined;
}

export const probeBackends = ['ebpf', 'kmod'] as const;
export type ProbeBackend = (typeof probeBackends)[number];

export interface NativeProbeStatus {
  readonly probe: ProbeName;
  readonly state: ProbeState;
  readonly attachMode?: AttachMode;
  /** Hierarchy of the probe's cgroup ids (0: unified; v1 per /proc/cgroups). */
  readonly hierarchyId?: number;
  readonly errno?: number;
  readonly code?: string;
  readonly op?: string;
  readonly message?: string;
}

export interface ProgramStats {
  readonly name: string;
  readonly probe: ProbeName;
  readonly runTimeNs: bigint;
  readonly runCount: bigint;
  readonly recursionMisses: bigint;
}

const probeName = z.enum(probeNames);
const stateName = z
  .number()
  .int()
  .transform((v, ctx) => {
    const name = (Object.keys(states) as ProbeState[]).find((k) => states[k] === v);
    if (name === undefined) ctx.addIssue({ code: 'custom', message: `unknown probe state ${v}` });
    return name ?? 'failed';
  });
const attachModeName = z
  .number()
  .int()
  .transform((v) => {
    const name = (Object.keys(attachModes) as (keyof typeof attachModes)[]).find((k) => attachModes[k] === v);
    return name === 'none' ? undefined : name;
  });

const statusSchema = z.array(
  z.object({
    probe: probeName,
    state: stateName,
    errno: z.number().int(),
    code: z.string().optional(),
    attachMode: attachModeName,
    hierarchyId: z.number().int(),
    op: z.string(),
    message: z.string(),
  }),
);

const programStatsSchema = z.array(
  z.object({
    name: z.string(),
    probe: probeName,
    runTimeNs: z.bigint(),
    runCount: z.bigint(),
    recursionMisses: z.bigint(),
  }),
);

function rethrow(err: unknown): never {
  throw ProbeError.fromNative(err);
}

export class NativeProbes {
  private constructor(private readonly native: NativeSession) {}

  /** Loads each probe independently; throws ProbeError only when none could load. */
  static open(o: NativeOptions): NativeProbes {
    const binding = loadBinding();
    let mask = 0;
    for (const name of o.probes) {
      const bit = binding.probes[name];
      if (bit === undefined) throw new Error(`the native addon has no ${name} probe: rebuild it`);
      mask |= 1 << bit;
    }
    const flags =
      (o.captureStacks ? optionBits.captureStacks : 0) |
      (o.forceRawTracepoints ? optionBits.forceRawTracepoints : 0) |
      (o.softwareCounters ? optionBits.softwareCounters : 0) |
      (o.allCgroups ? optionBits.allCgroups : 0) |
      (o.runqSlowNs !== undefined ? optionBits.runqEvents : 0) |
      (o.cacheByTask ? optionBits.cacheByTask : 0) |
      (o.backend === 'kmod' ? optionBits.kmod : 0);
    try {
      return new NativeProbes(
        new binding.Session({
          probes: mask,
          flags,
          ioSlowNs: o.ioSlowNs,
          reclaimSlowNs: o.reclaimSlowNs,
          ...(o.runqSlowNs === undefined ? {} : { runqSlowNs: o.runqSlowNs }),
          ...(o.btfPath === undefined ? {} : { btfPath: o.btfPath }),
          ...(o.testSizes ? { testMapEntries: o.testSizes.mapEntries, testRingBytes: o.testSizes.ringBytes } : {}),
        }),
      );
    } catch (err) {
      rethrow(err);
    }
  }

  status(): NativeProbeStatus[] {
    return statusSchema.parse(this.native.status()).map((s) => ({
      probe: s.probe,
      state: s.state,
      ...(s.attachMode ? { attachMode: s.attachMode } : {}),
      ...(s.hierarchyId >= 0 ? { hierarchyId: s.hierarchyId } : {}),
      ...(s.errno ? { errno: s.errno, op: s.op } : {}),
      ...(s.code ? { code: s.code } : {}),
      ...(s.message ? { message: s.message } : {}),
    }));
  }

  setTargets(targets: readonly NativeTarget[]): void {
    try {
      this.native.setTargets(targets);
    } catch (err) {
      rethrow(err);
    }
  }

  /** Attaches every loaded probe; throws ProbeError only when none could attach. */
  attach(): void {
    try {
      this.native.attach();
    } catch (err) {
      rethrow(err);
    }
  }

  /** Cumulative counters of every active probe (dead cgroups flagged, then forgotten). */
  async readWindow(): Promise<RawSections> {
    let buffer: ArrayBuffer;
    try {
      buffer = await this.native.readWindow();
    } catch (err) {
      rethrow(err);
    }
    return decodeSections(buffer);
  }

  /** Pending cgroup lifecycle, slow-IO, slow-reclaim and slow run-queue wait records. */
  drainEvents(): RawSections {
    let buffer: ArrayBuffer;
    try {
      buffer = this.native.drainEvents();
    } catch (err) {
      rethrow(err);
    }
    return decodeSections(buffer);
  }

  programStats(): ProgramStats[] {
    return programStatsSchema.parse(this.native.programStats());
  }

  /** Detaches and frees the probes; safe to call more than once. */
  close(): void {
    this.native.close();
  }
}
