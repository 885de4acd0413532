import { expect } from 'chai';

import { parseLatencyReports } from '../../../../testbed/workloads/latency-probe.js';

describe('latency probe reports', function () {
  it('parses the JSON lines and skips other output', function () {
    const text = [
      'starting',
      '{"ts":1.5,"requests":10,"p50_us":40.1,"p99_us":90,"max_us":120.5,"service_p50_us":30,"service_p99_us":35}',
      '{"not":"a report"}',
      '',
    ].join('\n');
    expect(parseLatencyReports(text)).to.deep.equal([
      { ts: 1.5, requests: 10, p50_us: 40.1, p99_us: 90, max_us: 120.5, service_p50_us: 30, service_p99_us: 35 },
    ]);
  });
});
