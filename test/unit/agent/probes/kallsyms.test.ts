import { expect } from 'chai';

import { KernelSymbols } from '../../../../agent/probes/kallsyms.js';

// Recorded from /proc/kallsyms (6.18), trimmed; data symbols and zero addresses mixed in.
const recorded = `ffffffff81000000 T _stext
ffffffff81001000 T do_one_initcall
ffffffff8174b2a0 T submit_bio
ffffffff8174b400 t submit_bio_noacct
ffffffff82a00000 D init_task
0000000000000000 T hidden_when_unprivileged
ffffffffc0a01000 t ext4_file_write_iter	[ext4]
`;

describe('kernel symbols', function () {
  const symbols = KernelSymbols.parse(recorded);

  it('keeps text symbols with addresses', function () {
    expect(symbols.size).to.equal(5);
  });

  it('names an address by the symbol below it, with the offset', function () {
    expect(symbols.symbolize(0xffffffff8174b2a0n)).to.equal('submit_bio+0x0');
    expect(symbols.symbolize(0xffffffff8174b410n)).to.equal('submit_bio_noacct+0x10');
    expect(symbols.symbolize(0xffffffffc0a01033n)).to.equal('ext4_file_write_iter+0x33 [ext4]');
  });

  it('leaves addresses below every symbol in hex', function () {
    expect(symbols.symbolize(0x1000n)).to.equal('0x1000');
    expect(KernelSymbols.parse('').symbolize(0xffffffff81000000n)).to.equal('0xffffffff81000000');
  });
});
