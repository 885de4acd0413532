// The latency probe program itself: builds with the system C compiler, issues exactly the
// scheduled requests, reports consistent percentiles, refuses bad arguments and stops
// cleanly on SIGTERM.
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { latencyProbeBinary, latencyProbeCommand, parseLatencyReports } from '../../testbed/workloads/latency-probe.js';

const run = promisify(execFile);

describe('latency probe', function () {
  it('issues every scheduled request and reports ordered percentiles', async function () {
    const [binary, ...args] = latencyProbeCommand({ rate: 500, durationSeconds: 1, intervalMs: 250 });
    const { stdout } = await run(binary!, args);
    const reports = parseLatencyReports(stdout);
    expect(reports.length).to.be.within(3, 6);
    // Open loop: a request that falls behind is still issued, so the count is exact.
    expect(reports.reduce((sum, r) => sum + r.requests, 0)).to.equal(500);
    for (const r of reports) {
      expect(r.p50_us).to.be.at.most(r.p99_us);
      expect(r.p99_us).to.be.at.most(r.max_us);
      // Each request's service time is part of its latency.
      expect(r.service_p50_us).to.be.at.most(r.p50_us);
      expect(r.service_p50_us).to.be.above(0);
    }
  });

  it('refuses bad arguments with exit code 2', async function () {
    const failed = await run(latencyProbeBinary(), ['--rate', 'fast']).then(
      () => undefined,
      (err: unknown) => err as { code: number; stderr: string },
    );
    expect(failed?.code).to.equal(2);
    expect(failed?.stderr).to.include('--rate: not a non-negative number: fast');
  });

  it('with --read, serves each request by reading one block of the file', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'crosstalk-probe-'));
    try {
      const file = join(dir, 'data');
      writeFileSync(file, Buffer.alloc(1 << 20));
      const [binary, ...args] = latencyProbeCommand({ rate: 200, durationSeconds: 1, read: { file, direct: true } });
      const reports = parseLatencyReports((await run(binary!, args)).stdout);
      expect(reports.reduce((sum, r) => sum + r.requests, 0)).to.equal(200);
      // A block that does not fit the file is refused before any request.
      const failed = await run(binary!, ['--read', file, '--block', String(2 << 20)]).then(
        () => undefined,
        (err: unknown) => err as { code: number; stderr: string },
      );
      expect(failed?.code).to.equal(1);
      expect(failed?.stderr).to.include('--block must be a multiple of 4096');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports what it measured and exits 0 on SIGTERM', async function () {
    const child = spawn(latencyProbeBinary(), ['--interval-ms', '60000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(code).to.equal(0);
    const [report] = parseLatencyReports(stdout);
    expect(report?.requests).to.be.above(100);
  });
});
