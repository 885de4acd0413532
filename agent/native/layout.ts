// Decodes the window buffer written by ct_read_window (bpf/crosstalk.h). Offsets are
// spelled out here and checked against the addon's offsetof() values by a test.

export const sectionHeader = { kind: 0, count: 4, recordSize: 8, size: 16 } as const;
export const cpuRecord = { cgroupId: 0, switchesIn: 8, size: 16 } as const;

export const SectionKind = { cpu: 1 } as const;

/** Cumulative counters of one cgroup since the probe was loaded. */
export interface CpuCounters {
  readonly cgroupId: bigint;
  readonly switchesIn: bigint;
}

export interface RawWindow {
  readonly cpu: CpuCounters[];
}

export function decodeWindow(buffer: ArrayBuffer): RawWindow {
  const view = new DataView(buffer);
  const window: RawWindow = { cpu: [] };
  let at = 0;
  while (at < buffer.byteLength) {
    if (buffer.byteLength - at < sectionHeader.size) throw new Error(`window buffer truncated at byte ${at}`);
    const kind = view.getUint32(at + sectionHeader.kind, true);
    const count = view.getUint32(at + sectionHeader.count, true);
    const recordSize = view.getUint32(at + sectionHeader.recordSize, true);
    at += sectionHeader.size;
    if (at + count * recordSize > buffer.byteLength) throw new Error(`window section ${kind} overruns the buffer`);
    for (let i = 0; i < count; i++, at += recordSize) {
      if (kind === SectionKind.cpu) {
        window.cpu.push({
          cgroupId: view.getBigUint64(at + cpuRecord.cgroupId, true),
          switchesIn: view.getBigUint64(at + cpuRecord.switchesIn, true),
        });
      }
    }
  }
  return window;
}
