import { expect } from 'chai';

import { clockTime, formatHeader, formatRow, milliseconds, type Column } from '../../../cli/columns.js';

const columns: Column[] = [
  { title: 'COMM', width: 6 },
  { title: 'BYTES', width: 6, align: 'right' },
  { title: 'LAT(ms)', width: 7, align: 'right' },
];

describe('cli columns', function () {
  it('pads every column but the last, keeps wide cells whole, aligns numbers right', function () {
    expect(formatHeader(columns)).to.equal('COMM    BYTES LAT(ms)');
    expect(formatRow(columns, ['dd', '4096', '0.21'])).to.equal('dd       4096    0.21');
    expect(formatRow(columns, ['kworker/1:1', '8', '1.00'])).to.equal('kworker/1:1      8    1.00');
    // A last column without padding (a free-text one) is printed as it is.
    expect(formatRow([...columns, { title: 'OWNER', width: 0 }], ['dd', '1', '2.00', '/a b'])).to.equal(
      'dd          1    2.00 /a b',
    );
  });

  it('formats times and milliseconds the way the BCC tools do', function () {
    expect(clockTime(new Date(2026, 0, 2, 3, 4, 5))).to.equal('03:04:05');
    expect(milliseconds(1_234_567)).to.equal('1.23');
    expect(milliseconds(5e5, 3)).to.equal('0.500');
  });
});
