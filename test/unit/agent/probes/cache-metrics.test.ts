import { expect } from 'chai';

import { cacheMetrics } from '../../../../agent/probes/cache-metrics.js';

describe('cache metrics', function () {
  it('derives LLC hit %, CPI and MPKI', function () {
    expect(cacheMetrics({ llcReferences: 1000, llcMisses: 250, cycles: 6000, instructions: 4000 })).to.deep.equal({
      llcHitPercent: 75,
      cpi: 1.5,
      mpki: 62.5,
    });
  });

  it('leaves out a metric whose denominator is zero', function () {
    expect(cacheMetrics({ llcReferences: 0, llcMisses: 0, cycles: 10, instructions: 0 })).to.deep.equal({});
  });

  it('never reports a negative hit rate (counters read at slightly different times)', function () {
    expect(cacheMetrics({ llcReferences: 10, llcMisses: 12, cycles: 0, instructions: 1 }).llcHitPercent).to.equal(0);
  });
});
