import { expect } from 'chai';

import { loadBinding } from '../../../../agent/native/binding.js';
import { cpuRecord, decodeWindow, sectionHeader, SectionKind } from '../../../../agent/native/layout.js';

describe('native window layout', function () {
  it('matches the C structs (offsetof from the addon)', function () {
    const { layout } = loadBinding();
    expect(layout.sectionHeader).to.deep.equal(sectionHeader);
    expect(layout.cpuRecord).to.deep.equal(cpuRecord);
  });

  it('decodes a cpu section', function () {
    const buffer = new ArrayBuffer(sectionHeader.size + 2 * cpuRecord.size);
    const view = new DataView(buffer);
    view.setUint32(sectionHeader.kind, SectionKind.cpu, true);
    view.setUint32(sectionHeader.count, 2, true);
    view.setUint32(sectionHeader.recordSize, cpuRecord.size, true);
    view.setBigUint64(16, 7n, true);
    view.setBigUint64(24, 100n, true);
    view.setBigUint64(32, 9n, true);
    view.setBigUint64(40, 3n, true);
    expect(decodeWindow(buffer).cpu).to.deep.equal([
      { cgroupId: 7n, switchesIn: 100n },
      { cgroupId: 9n, switchesIn: 3n },
    ]);
  });

  it('rejects a truncated buffer', function () {
    expect(() => decodeWindow(new ArrayBuffer(8))).to.throw(/truncated/);
  });
});
