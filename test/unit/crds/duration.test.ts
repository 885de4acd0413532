import { expect } from 'chai';

import { DurationError, formatDuration, parseDuration } from '../../../crds/duration.js';

describe('Go durations', function () {
  it('parses single and compound terms into milliseconds', function () {
    expect(parseDuration('30s')).to.equal(30_000);
    expect(parseDuration('5m')).to.equal(300_000);
    expect(parseDuration('1h30m')).to.equal(5_400_000);
    expect(parseDuration('250ms')).to.equal(250);
    expect(parseDuration('1.5s')).to.equal(1500);
    expect(parseDuration('10us')).to.be.closeTo(0.01, 1e-12);
    expect(parseDuration('500ns')).to.be.closeTo(0.0005, 1e-12);
  });

  it('rejects ISO-8601, signs, blanks and bare numbers with a DurationError', function () {
    for (const bad of ['PT5M', '-5s', '5 s', '10', '', 's', '5d', '1h 30m']) {
      expect(() => parseDuration(bad), bad)
        .to.throw(DurationError)
        .with.property('code', 'InvalidDuration');
    }
  });

  it('formats milliseconds back in the shortest Go form', function () {
    expect(formatDuration(5_400_000)).to.equal('1h30m');
    expect(formatDuration(300_000)).to.equal('5m');
    expect(formatDuration(1500)).to.equal('1.5s');
    expect(formatDuration(250)).to.equal('250ms');
    expect(formatDuration(0.01)).to.equal('10us');
    expect(formatDuration(0)).to.equal('0s');
    for (const text of ['2h', '45s', '1h1m1s', '10ms']) expect(formatDuration(parseDuration(text))).to.equal(text);
  });
});
