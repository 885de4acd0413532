// Numeric constants of bpf/*.h that TypeScript needs, mirrored by name; the addon
// exports the C values and test/unit/agent/native/constants.test.ts compares them.

/** Sizes from bpf/common.h, cpu.h, cache.h, memory.h, lifecycle.h. */
export const limits = {
  histSlots: 32,
  stackDepth: 32,
  commLength: 16,
  cgroupPathLength: 512,
  maxTargets: 1024,
  runRing: 32,
  runqHolders: 4,
  cacheCounters: 4,
  reclaimKinds: 2,
  /** Owners tracked in flight per device (io.h). */
  ioOwners: 8,
  /** A holder key with this bit set names a root-cgroup thread by pid (cpu.h). */
  holderThreadBit: 63,
  /** ... this one, the cgroup whose dirty pages root-cgroup threads wrote back (cpu.h). */
  holderWritebackBit: 62,
} as const;

/** enum ct_section_kind. */
export const sectionKinds = {
  cpuCgroups: 1,
  runqVictims: 2,
  waitPairs: 3,
  ioStats: 4,
  ioLatency: 5,
  reclaim: 6,
  cache: 7,
  health: 8,
  window: 9,
  cacheTasks: 10,
  ioDelays: 11,
  cgroupEvents: 16,
  ioEvents: 17,
  reclaimEvents: 18,
  runqEvents: 19,
} as const;

/** enum ct_probe_state. */
export const states = { off: 0, loaded: 1, active: 2, unsupported: 3, failed: 4 } as const;

/** enum ct_attach_mode. */
export const attachModes = { none: 0, tp_btf: 1, raw_tp: 2, kmod: 3 } as const;

/** CT_OPT_* bits of struct ct_options.flags. */
export const options = {
  captureStacks: 1,
  forceRawTracepoints: 2,
  softwareCounters: 4,
  allCgroups: 8,
  runqEvents: 16,
  cacheByTask: 32,
  /** The kernel-module backend (/dev/crosstalk) instead of eBPF. */
  kmod: 64,
} as const;

/** CT_RECORD_* bits of a window record's flags. */
export const recordFlags = { dead: 1 } as const;

/** enum ct_io_op. */
export const ioOps = { read: 0, write: 1, flush: 2, discard: 3, other: 4 } as const;

/** CT_IO_F_* bits. */
export const ioFlags = { sync: 1, meta: 2, readahead: 4, fua: 8, preflush: 16 } as const;

/** enum ct_reclaim_kind. */
export const reclaimKinds = { direct: 0, memcg: 1 } as const;

/** enum ct_cgroup_event_kind. */
export const cgroupEventKinds = { mkdir: 1, rmdir: 2 } as const;

/** enum ct_cache_counter. */
export const cacheCounters = { llcReferences: 0, llcMisses: 1, cycles: 2, instructions: 3 } as const;

/** Everything above, in the shape the addon exports it. */
export const constants = {
  limits,
  sections: sectionKinds,
  states,
  attachModes,
  options,
  recordFlags,
  ioOps,
  ioFlags,
  reclaimKinds,
  cgroupEventKinds,
  cacheCounters,
} as const;

/** Inverts a name -> value table. */
export function nameOf<T extends Record<string, number>>(table: T, value: number): keyof T | undefined {
  for (const [name, v] of Object.entries(table)) if (v === value) return name;
  return undefined;
}
