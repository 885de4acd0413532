import { InvalidArgumentError } from '@commander-js/extra-typings';
import { expect } from 'chai';

import {
  goDuration,
  hostPort,
  intervalSeconds,
  percent,
  podName,
  positiveInteger,
  processId,
  runDuration,
  thresholdMs,
} from '../../../common/arguments.js';

describe('command-line arguments', function () {
  it('reads thresholds in milliseconds as nanoseconds, fractions and 0 included', function () {
    expect(thresholdMs('10')).to.equal(10_000_000);
    expect(thresholdMs('0.5')).to.equal(500_000);
    expect(thresholdMs('0')).to.equal(0);
    expect(() => thresholdMs('-1')).to.throw(InvalidArgumentError, 'negative');
    expect(() => thresholdMs('soon')).to.throw(InvalidArgumentError, '"soon" is not a number');
    expect(() => thresholdMs('')).to.throw(InvalidArgumentError);
  });

  it('reads durations as BCC seconds or Go durations', function () {
    expect(runDuration('10')).to.equal(10_000);
    expect(runDuration('1.5')).to.equal(1500);
    expect(runDuration('1m30s')).to.equal(90_000);
    expect(runDuration('250ms')).to.equal(250);
    expect(() => runDuration('0')).to.throw(InvalidArgumentError, 'positive');
    expect(() => runDuration('0s')).to.throw(InvalidArgumentError, 'positive');
    expect(() => runDuration('PT5M')).to.throw(InvalidArgumentError, 'or plain seconds');
  });

  it('reads intervals, pids, counts and percentages', function () {
    expect(intervalSeconds('2')).to.equal(2000);
    expect(intervalSeconds('0.5')).to.equal(500);
    expect(() => intervalSeconds('0.01')).to.throw(InvalidArgumentError, 'at least 0.1 s');
    expect(processId('42')).to.equal(42);
    for (const bad of ['0', '-3', '1.5', 'x']) expect(() => processId(bad), bad).to.throw(InvalidArgumentError);
    expect(positiveInteger('100')).to.equal(100);
    expect(() => positiveInteger('0')).to.throw(InvalidArgumentError);
    expect(percent('80')).to.equal(80);
    expect(() => percent('101')).to.throw(InvalidArgumentError, 'between 0 and 100');
  });

  it('reads pods as NAMESPACE/NAME', function () {
    expect(podName('shop/checkout-5d8b.x2')).to.deep.equal({ namespace: 'shop', name: 'checkout-5d8b.x2' });
    for (const bad of ['checkout', 'shop/', '/checkout', 'Shop/x', 'a/b/c'])
      expect(() => podName(bad), bad).to.throw(InvalidArgumentError, 'is not NAMESPACE/NAME');
  });

  it("reads the daemons' listen addresses and Go durations", function () {
    expect(hostPort('127.0.0.1:0')).to.deep.equal({ host: '127.0.0.1', port: 0 });
    expect(hostPort(':8080')).to.deep.equal({ host: '0.0.0.0', port: 8080 });
    expect(hostPort('[::1]:9560')).to.deep.equal({ host: '::1', port: 9560 });
    expect(() => hostPort('8080')).to.throw(InvalidArgumentError, 'is not host:port');
    expect(goDuration('1m30s')).to.equal(90_000);
    expect(() => goDuration('soon')).to.throw(InvalidArgumentError);
  });
});
