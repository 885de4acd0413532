import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { compareLatency, readLatencyReports, summarise } from '../../../demo/latency.js';
import type { LatencyReport } from '../../../testbed/workloads/latency-probe.js';

function report(ts: number, p50: number, p99: number): LatencyReport {
  return { ts, requests: 1000, p50_us: p50, p99_us: p99, max_us: p99, service_p50_us: p50, service_p99_us: p99 };
}

describe('demo latency', function () {
  it('reads the complete reports of a log still being written, skipping other lines', function () {
    const dir = mkdtempSync(join(tmpdir(), 'crosstalk-demo-test-'));
    try {
      const log = join(dir, 'app.log');
      const line = JSON.stringify(report(100, 40, 80));
      writeFileSync(log, `starting\n${line}\n${line.slice(0, 20)}`);
      expect(readLatencyReports(log)).to.deep.equal([report(100, 40, 80)]);
      expect(readLatencyReports(join(dir, 'absent.log'))).to.deep.equal([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('summarises with the medians of the per-second figures', function () {
    expect(summarise([report(1, 40, 90), report(2, 50, 70), report(3, 60, 80)])).to.deep.equal({
      seconds: 3,
      p50Us: 50,
      p99Us: 80,
    });
    expect(summarise([report(1, 40, 90), report(2, 50, 70)])?.p50Us).to.equal(45);
    expect(summarise([])).to.equal(undefined);
  });

  it('splits at the aggressor start, leaving out seconds before `from` and the second it started in', function () {
    // Each report covers the second ending at its ts; the aggressor starts at 105.5.
    const reports = [99, 100, 101, 102, 103, 104, 105, 106, 107, 108].map((ts) => report(ts, ts < 106 ? 40 : 900, 100));
    const { before, after } = compareLatency(reports, 100, 105.5);
    expect(before).to.deep.equal({ seconds: 5, p50Us: 40, p99Us: 100 }); // 101..105
    expect(after?.seconds).to.equal(2); // 107, 108: 106 covers 105..106, partly without it
    expect(after?.p50Us).to.equal(900);
  });

  it('has nothing to compare without reports on a side', function () {
    expect(compareLatency([report(101, 40, 80)], 100, 100.5)).to.deep.equal({});
  });
});
