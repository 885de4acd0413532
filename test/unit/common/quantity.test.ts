import { expect } from 'chai';

import { cpuMillis, memoryBytes, parseQuantity, QuantityError } from '../../../common/quantity.js';

describe('harness quantities', function () {
  it('parses CPU quantities to millicores', function () {
    expect(cpuMillis('500m')).to.equal(500);
    expect(cpuMillis('2')).to.equal(2000);
    expect(cpuMillis('0.1')).to.equal(100);
    expect(cpuMillis('1.5')).to.equal(1500);
  });

  it('parses memory quantities to bytes, binary and decimal', function () {
    expect(memoryBytes('64Mi')).to.equal(64 * 2 ** 20);
    expect(memoryBytes('1G')).to.equal(1e9);
    expect(memoryBytes('128974848')).to.equal(128974848);
    expect(memoryBytes('1e3')).to.equal(1000);
    expect(parseQuantity('2Ei')).to.equal(2 * 2 ** 60);
  });

  it('rejects what is not a quantity', function () {
    for (const bad of ['', 'lots', '5 Mi', '1.2.3', 'Mi']) {
      expect(() => parseQuantity(bad), bad)
        .to.throw(QuantityError)
        .with.property('code', 'InvalidQuantity');
    }
  });
});
