import { expect } from 'chai';

import { loadBinding } from '../../../../agent/native/binding.js';
import { sectionKinds } from '../../../../agent/native/constants.js';
import { decodeSections, layouts, offsetsOf, type LayoutName } from '../../../../agent/native/layout.js';

/** A buffer with one section of `count` records of `name`, filled by `fill`. */
function section(kind: number, name: LayoutName, count: number, fill: (view: DataView, at: number, i: number) => void) {
  const size = layouts[name].size;
  const buffer = new ArrayBuffer(16 + count * size);
  const view = new DataView(buffer);
  view.setUint32(0, kind, true);
  view.setUint32(4, count, true);
  view.setUint32(8, size, true);
  for (let i = 0; i < count; i++) fill(view, 16 + i * size, i);
  return buffer;
}

describe('native window layout', function () {
  it('matches every C struct crossing into TypeScript (offsetof from the addon)', function () {
    const { layout } = loadBinding();
    expect(Object.keys(layout).sort()).to.deep.equal(Object.keys(layouts).sort());
    for (const name of Object.keys(layouts) as LayoutName[]) expect(layout[name], name).to.deep.equal(offsetsOf(name));
  });

  it('decodes a cpu section', function () {
    const buffer = section(sectionKinds.cpuCgroups, 'cpuCgroupRecord', 2, (view, at, i) => {
      view.setBigUint64(at, 7n + BigInt(i), true);
      view.setUint32(at + 8, i, true);
      view.setBigUint64(at + 16, 1000n * BigInt(i + 1), true);
      view.setBigUint64(at + 24, 3n, true);
      view.setBigUint64(at + 32, 1n, true);
    });
    expect(decodeSections(buffer).cpuCgroups).to.deep.equal([
      { cgroupId: 7n, flags: 0, oncpuNs: 1000n, slices: 3n, involuntary: 1n },
      { cgroupId: 8n, flags: 1, oncpuNs: 2000n, slices: 3n, involuntary: 1n },
    ]);
  });

  it('decodes strings up to their NUL and arrays of u64', function () {
    const buffer = section(sectionKinds.cgroupEvents, 'cgroupEvent', 1, (view, at) => {
      view.setUint32(at + 16, 2, true);
      view.setInt32(at + 20, 7, true);
      new Uint8Array(view.buffer).set(Buffer.from('/kubepods.slice\0junk'), at + 32);
    });
    const [event] = decodeSections(buffer).cgroupEvents;
    expect(event).to.include({ kind: 2, hierarchyId: 7, path: '/kubepods.slice' });
    const victims = section(sectionKinds.runqVictims, 'runqVictimRecord', 1, (view, at) =>
      view.setBigUint64(at + 40 + 8 * 12, 5n, true),
    );
    expect(decodeSections(victims).runqVictims[0]?.hist[12]).to.equal(5n);
  });

  it('skips sections of unknown kinds', function () {
    const buffer = section(99, 'cpuCgroupRecord', 1, () => {});
    expect(decodeSections(buffer).cpuCgroups).to.deep.equal([]);
  });

  it('rejects a truncated buffer, an overrunning section and short records', function () {
    expect(() => decodeSections(new ArrayBuffer(8))).to.throw(/truncated/);
    const overrun = section(sectionKinds.cpuCgroups, 'cpuCgroupRecord', 1, () => {});
    new DataView(overrun).setUint32(4, 2, true);
    expect(() => decodeSections(overrun)).to.throw(/overruns/);
    const short = section(sectionKinds.cpuCgroups, 'cpuCgroupRecord', 1, () => {});
    new DataView(short).setUint32(8, 8, true);
    expect(() => decodeSections(short)).to.throw(/8-byte records, expected 40/);
  });
});
