import { expect } from 'chai';

import { cpi2Correlation, cpiOutlierThreshold } from '../../../../agent/report/correlation.js';

describe('CPI² correlation', function () {
  const cpi = [1, 1, 1, 1, 3, 1, 1, 3, 1, 1];

  it('is high for a neighbour busy exactly when the victim is an outlier', function () {
    const threshold = 2;
    const busyAtOutliers = cpi.map((c) => (c > threshold ? 10 : 0.5));
    expect(cpi2Correlation(cpi, busyAtOutliers, threshold)).to.be.above(0.6);
  });

  it('is negative for a neighbour busy only in normal windows', function () {
    const busyElsewhere = cpi.map((c) => (c > 2 ? 0 : 10));
    expect(cpi2Correlation(cpi, busyElsewhere, 2)).to.equal(-1);
  });

  it('is zero for an idle neighbour', function () {
    expect(
      cpi2Correlation(
        cpi,
        cpi.map(() => 0),
        2,
      ),
    ).to.equal(0);
  });

  it('places the threshold two standard deviations above the mean', function () {
    expect(cpiOutlierThreshold([1, 1, 1, 1])).to.equal(1);
    expect(cpiOutlierThreshold([1, 3])).to.equal(4);
  });
});
