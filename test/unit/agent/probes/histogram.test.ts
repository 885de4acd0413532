import { expect } from 'chai';

import { mergeHistograms, percentileNs, slotUpperBoundNs } from '../../../../agent/probes/histogram.js';

describe('latency histograms', function () {
  it('bounds slot 0 at 1 us and slot k at 2^k us', function () {
    expect(slotUpperBoundNs(0)).to.equal(1000);
    expect(slotUpperBoundNs(10)).to.equal(1_024_000);
  });

  it('finds a conservative percentile', function () {
    const h = [0, 0, 90, 0, 0, 0, 0, 0, 0, 0, 10];
    expect(percentileNs(h, 0.5)).to.equal(4000);
    expect(percentileNs(h, 0.9)).to.equal(4000);
    expect(percentileNs(h, 0.99)).to.equal(1_024_000);
    expect(percentileNs([0, 0], 0.5)).to.equal(undefined);
    expect(() => percentileNs(h, 0)).to.throw(RangeError);
  });

  it('merges slot by slot', function () {
    expect(
      mergeHistograms([
        [1, 2],
        [0, 3, 4],
      ]),
    ).to.deep.equal([1, 5, 4]);
  });
});
