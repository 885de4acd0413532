// The byte layout of the window and event buffers written by bpf/crosstalk.h, and
// their decoding into raw records (cumulative bigint counters, exactly as the kernel
// keeps them). Offsets are spelled out here and checked against the addon's offsetof()
// values by test/unit/agent/native/layout.test.ts.

import { CodedError } from '../../common/errors.js';
import { limits, sectionKinds } from './constants.js';

type FieldKind = 'u8' | 'u32' | 's32' | 'u64';

interface ScalarField {
  readonly offset: number;
  readonly kind: FieldKind;
}

interface ArrayField {
  readonly offset: number;
  readonly kind: 'u64[]';
  readonly length: number;
}

interface StringField {
  readonly offset: number;
  readonly kind: 'string';
  readonly length: number;
}

type Field = ScalarField | ArrayField | StringField;

export interface RecordLayout {
  readonly size: number;
  readonly fields: Readonly<Record<string, Field>>;
}

const u8 = (offset: number) => ({ offset, kind: 'u8' }) as const;
const u32 = (offset: number) => ({ offset, kind: 'u32' }) as const;
const s32 = (offset: number) => ({ offset, kind: 's32' }) as const;
const u64 = (offset: number) => ({ offset, kind: 'u64' }) as const;
const u64s = (offset: number, length: number) => ({ offset, kind: 'u64[]', length }) as const;
const chars = (offset: number, length: number) => ({ offset, kind: 'string', length }) as const;

const { histSlots, stackDepth, commLength, cgroupPathLength, cacheCounters, reclaimKinds, runqHolders } = limits;

export const layouts = {
  sectionHeader: { size: 16, fields: { kind: u32(0), count: u32(4), recordSize: u32(8) } },
  cpuCgroupRecord: {
    size: 40,
    fields: { cgroupId: u64(0), flags: u32(8), oncpuNs: u64(16), slices: u64(24), involuntary: u64(32) },
  },
  runqVictimRecord: {
    size: 296,
    fields: {
      cgroupId: u64(0),
      flags: u32(8),
      waitNs: u64(16),
      waits: u64(24),
      unattributedNs: u64(32),
      hist: u64s(40, histSlots),
    },
  },
  waitPairRecord: { size: 32, fields: { victim: u64(0), aggressor: u64(8), flags: u32(16), waitNs: u64(24) } },
  ioStatsRecord: {
    size: 40,
    fields: { cgroupId: u64(0), dev: u32(8), op: u8(12), sync: u8(13), flags: u32(16), ops: u64(24), bytes: u64(32) },
  },
  ioLatencyRecord: {
    size: 576,
    fields: {
      cgroupId: u64(0),
      dev: u32(8),
      op: u8(12),
      sync: u8(13),
      flags: u32(16),
      count: u64(24),
      totalNs: u64(32),
      deviceNs: u64(40),
      delayedNs: u64(48),
      unattributedNs: u64(56),
      totalHist: u64s(64, histSlots),
      deviceHist: u64s(320, histSlots),
    },
  },
  ioDelayRecord: {
    size: 48,
    fields: { victim: u64(0), holder: u64(8), dev: u32(16), flags: u32(24), ns: u64(32), requests: u64(40) },
  },
  reclaimRecord: {
    size: 64,
    fields: {
      cgroupId: u64(0),
      flags: u32(8),
      stallNs: u64s(16, reclaimKinds),
      count: u64s(32, reclaimKinds),
      pages: u64s(48, reclaimKinds),
    },
  },
  cacheRecord: { size: 48, fields: { cgroupId: u64(0), flags: u32(8), counts: u64s(16, cacheCounters) } },
  cacheTaskRecord: {
    size: 64,
    fields: { pid: u32(0), cpu: u32(4), flags: u32(8), counts: u64s(16, cacheCounters), comm: chars(48, commLength) },
  },
  windowRecord: { size: 8, fields: { timeNs: u64(0) } },
  healthRecord: {
    size: 56,
    fields: {
      probe: u32(0),
      mapFull: u64(8),
      eventsDropped: u64(16),
      stackErrors: u64(24),
      readErrors: u64(32),
      queueDropped: u64(40),
      stacksLost: u64(48),
    },
  },
  cgroupEvent: {
    size: 544,
    fields: {
      timeNs: u64(0),
      cgroupId: u64(8),
      kind: u32(16),
      hierarchyId: s32(20),
      level: u32(24),
      pathTruncated: u32(28),
      path: chars(32, cgroupPathLength),
    },
  },
  ioEventRecord: {
    size: 352,
    fields: {
      timeNs: u64(0),
      totalNs: u64(8),
      deviceNs: u64(16),
      sector: u64(24),
      bytes: u64(32),
      cgroupId: u64(40),
      pid: u32(48),
      dev: u32(52),
      flags: u32(56),
      stackId: s32(60),
      op: u8(64),
      comm: chars(72, commLength),
      nframes: u32(88),
      frames: u64s(96, stackDepth),
    },
  },
  reclaimEventRecord: {
    size: 328,
    fields: {
      timeNs: u64(0),
      latencyNs: u64(8),
      pages: u64(16),
      cgroupId: u64(24),
      tid: u32(32),
      kind: u32(36),
      stackId: s32(40),
      comm: chars(44, commLength),
      nframes: u32(64),
      frames: u64s(72, stackDepth),
    },
  },
  runqEvent: {
    size: 160,
    fields: {
      timeNs: u64(0),
      waitNs: u64(8),
      cgroupId: u64(16),
      unattributedNs: u64(24),
      otherNs: u64(32),
      prevCgroup: u64(40),
      pid: u32(48),
      cpu: u32(52),
      prevPid: u32(56),
      nholders: u32(60),
      comm: chars(64, commLength),
      prevComm: chars(80, commLength),
      /** (cgroup, ns) pairs, flattened. */
      holders: u64s(96, 2 * runqHolders),
    },
  },
} as const satisfies Record<string, RecordLayout>;

export type LayoutName = keyof typeof layouts;

type ValueOf<F> = F extends { kind: 'u64' }
  ? bigint
  : F extends { kind: 'u64[]' }
    ? bigint[]
    : F extends { kind: 'string' }
      ? string
      : number;

/** A record as the kernel wrote it. */
export type RawRecord<N extends LayoutName> = {
  -readonly [K in keyof (typeof layouts)[N]['fields']]: ValueOf<(typeof layouts)[N]['fields'][K]>;
};

export type SectionName = keyof typeof sectionKinds;

const recordOf = {
  cpuCgroups: 'cpuCgroupRecord',
  runqVictims: 'runqVictimRecord',
  waitPairs: 'waitPairRecord',
  ioStats: 'ioStatsRecord',
  ioLatency: 'ioLatencyRecord',
  ioDelays: 'ioDelayRecord',
  reclaim: 'reclaimRecord',
  cache: 'cacheRecord',
  health: 'healthRecord',
  window: 'windowRecord',
  cacheTasks: 'cacheTaskRecord',
  cgroupEvents: 'cgroupEvent',
  ioEvents: 'ioEventRecord',
  reclaimEvents: 'reclaimEventRecord',
  runqEvents: 'runqEvent',
} as const satisfies Record<SectionName, LayoutName>;

/** Every section of a buffer, by name; absent sections are empty arrays. */
export type RawSections = { [S in SectionName]: RawRecord<(typeof recordOf)[S]>[] };

const sectionByKind = new Map<number, SectionName>(
  Object.entries(sectionKinds).map(([name, kind]) => [kind, name as SectionName]),
);

export class LayoutError extends CodedError<'BadLayout'> {
  constructor(message: string) {
    super('BadLayout', message);
  }
}

function readField(view: DataView, at: number, field: Field): bigint | number | string | bigint[] {
  const offset = at + field.offset;
  switch (field.kind) {
    case 'u8':
      return view.getUint8(offset);
    case 'u32':
      return view.getUint32(offset, true);
    case 's32':
      return view.getInt32(offset, true);
    case 'u64':
      return view.getBigUint64(offset, true);
    case 'u64[]':
      return Array.from({ length: field.length }, (_, i) => view.getBigUint64(offset + 8 * i, true));
    case 'string': {
      const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, field.length);
      const end = bytes.indexOf(0);
      return Buffer.from(bytes.subarray(0, end < 0 ? field.length : end)).toString('utf8');
    }
  }
}

function readRecord<N extends LayoutName>(view: DataView, at: number, name: N): RawRecord<N> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(layouts[name].fields)) out[key] = readField(view, at, field);
  return out as RawRecord<N>;
}

function emptySections(): RawSections {
  const out: Partial<Record<SectionName, unknown[]>> = {};
  for (const name of Object.keys(sectionKinds)) out[name as SectionName] = [];
  return out as RawSections;
}

/** Decodes a window or event buffer. Unknown section kinds are skipped (an addon newer
 * than this file); a section whose records are smaller than expected is an error. */
export function decodeSections(buffer: ArrayBuffer): RawSections {
  const view = new DataView(buffer);
  const header = layouts.sectionHeader;
  const sections = emptySections();
  let at = 0;
  while (at < buffer.byteLength) {
    if (buffer.byteLength - at < header.size) throw new LayoutError(`buffer truncated at byte ${at}`);
    const kind = view.getUint32(at + header.fields.kind.offset, true);
    const count = view.getUint32(at + header.fields.count.offset, true);
    const recordSize = view.getUint32(at + header.fields.recordSize.offset, true);
    at += header.size;
    if (at + count * recordSize > buffer.byteLength) throw new LayoutError(`section ${kind} overruns the buffer`);
    const name = sectionByKind.get(kind);
    if (name !== undefined) {
      const layout = recordOf[name];
      if (recordSize < layouts[layout].size)
        throw new LayoutError(`section ${name} has ${recordSize}-byte records, expected ${layouts[layout].size}`);
      const records = sections[name] as unknown[];
      for (let i = 0; i < count; i++) records.push(readRecord(view, at + i * recordSize, layout));
    }
    at += count * recordSize;
  }
  return sections;
}

/** The field offsets of a layout, flattened the way the addon exports them. */
export function offsetsOf(name: LayoutName): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, field] of Object.entries(layouts[name].fields)) out[key] = field.offset;
  out.size = layouts[name].size;
  return out;
}
