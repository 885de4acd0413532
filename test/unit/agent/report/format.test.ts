import { expect } from 'chai';

import { formatBytes, formatDuration, formatPercent } from '../../../../agent/report/format.js';

describe('report formatting', function () {
  it('formats durations from nanoseconds', function () {
    expect(formatDuration(3.1e9)).to.equal('3.1 s');
    expect(formatDuration(1.94e6)).to.equal('1.94 ms');
    expect(formatDuration(120e6)).to.equal('120 ms');
    expect(formatDuration(850)).to.equal('850 ns');
  });

  it('formats bytes in binary units', function () {
    expect(formatBytes(512)).to.equal('512 B');
    expect(formatBytes(1.2 * 1024 ** 3)).to.equal('1.2 GiB');
  });

  it('formats fractions as percentages', function () {
    expect(formatPercent(0.382)).to.equal('38.2%');
    expect(formatPercent(0.81)).to.equal('81%');
  });
});
