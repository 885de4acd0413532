import { expect } from 'chai';

import { scoreOf, verdictOf, waitSizeScore } from '../../../../agent/report/thresholds.js';

describe('verdict thresholds', function () {
  it('scores shares from zero and ratios from one', function () {
    expect(scoreOf('cpu', 0)).to.equal(0);
    expect(scoreOf('cpu', 0.05)).to.equal(25);
    expect(scoreOf('cpu', 0.15)).to.equal(50);
    expect(scoreOf('cpu', 0.3)).to.equal(75);
    expect(scoreOf('cpu', 0.6)).to.equal(100);
    expect(scoreOf('cpu', 0.9)).to.equal(100);
    expect(scoreOf('io', 0)).to.equal(0);
    expect(scoreOf('io', 0.2)).to.equal(25);
    expect(scoreOf('io', 0.6)).to.equal(75);
    expect(scoreOf('io', 1.2)).to.equal(100);
    expect(scoreOf('cache', 1)).to.equal(0);
    expect(scoreOf('cache', 0.5)).to.equal(0);
    expect(scoreOf('cache', 1.2)).to.equal(25);
    expect(scoreOf('cache', 3)).to.equal(100);
  });

  it('interpolates between thresholds', function () {
    expect(scoreOf('cpu', 0.1)).to.equal(38);
    expect(scoreOf('memory', 0.005)).to.equal(13);
  });

  it('scores single run-queue waits against the threshold', function () {
    expect(waitSizeScore(0, 5e6)).to.equal(0);
    expect(waitSizeScore(0.5e6, 5e6)).to.equal(25);
    expect(waitSizeScore(5e6, 5e6)).to.equal(75);
    expect(waitSizeScore(10e6, 5e6)).to.equal(100);
  });

  it('turns scores into verdicts', function () {
    expect(verdictOf(0)).to.equal('None');
    expect(verdictOf(24)).to.equal('None');
    expect(verdictOf(25)).to.equal('Low');
    expect(verdictOf(50)).to.equal('Medium');
    expect(verdictOf(75)).to.equal('High');
  });
});
