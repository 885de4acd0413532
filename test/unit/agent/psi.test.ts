import { expect } from 'chai';

import { parsePressure, psiDelta, PsiError, readPsi, type PsiSnapshot } from '../../../agent/psi.js';

// Recorded in the VM lane's guest (Debian 6.1, pure cgroup v2): a lone burner under
// cpu.max "20000 100000" for 5 s (its cpu.stat throttled_usec went up by 3954740).
const throttledCpu = [
  'some avg10=25.28 avg60=4.92 avg300=1.04 total=3963198',
  'full avg10=25.28 avg60=4.92 avg300=1.04 total=3963198',
  '',
].join('\n');
const idle = 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n';

function snapshot(cpu: [number, number], io: [number, number], memory: [number, number]): PsiSnapshot {
  const totals = ([some, full]: [number, number]) => ({ someUs: BigInt(some), fullUs: BigInt(full) });
  return { cpu: totals(cpu), io: totals(io), memory: totals(memory) };
}

describe('psi reader', function () {
  it('parses the cumulative some and full stall times', function () {
    expect(parsePressure(throttledCpu)).to.deep.equal({ someUs: 3963198n, fullUs: 3963198n });
  });

  it('accepts a file with only a "some" line (cpu on kernels before 5.13)', function () {
    expect(parsePressure('some avg10=1.00 avg60=0.50 avg300=0.10 total=42\n')).to.deep.equal({
      someUs: 42n,
      fullUs: undefined,
    });
  });

  for (const bad of ['', 'full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n', 'some total=12\n', 'nonsense\n']) {
    it(`rejects ${JSON.stringify(bad)} as PsiMalformed`, function () {
      expect(() => parsePressure(bad, '/x/cpu.pressure'))
        .to.throw(PsiError, '/x/cpu.pressure')
        .with.property('code', 'PsiMalformed');
    });
  }

  it('reads the three files of a cgroup directory', function () {
    const files: Record<string, string> = {
      '/cg/cpu.pressure': throttledCpu,
      '/cg/io.pressure': idle,
      '/cg/memory.pressure': idle,
    };
    const psi = readPsi('/cg', (path) => files[path] ?? '');
    expect(psi.cpu.someUs).to.equal(3963198n);
    expect(psi.io).to.deep.equal({ someUs: 0n, fullUs: 0n });
  });

  it('reports missing pressure files as PsiUnsupported', function () {
    const missing = () => {
      throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    };
    expect(() => readPsi('/cg', missing))
      .to.throw(PsiError, '/cg/cpu.pressure')
      .with.property('code', 'PsiUnsupported');
  });

  it('turns two snapshots into stall time and share of the window', function () {
    const before = snapshot([1_000, 900], [0, 0], [500, 500]);
    const after = snapshot([3_001_000, 2_900_900], [250_000, 0], [500, 500]);
    const window = psiDelta(before, after, 5_000_000);
    expect(window.cpu).to.deep.equal({ someUs: 3_000_000n, fullUs: 2_900_000n, somePercent: 60, fullPercent: 58 });
    expect(window.io).to.deep.include({ someUs: 250_000n, somePercent: 5 });
    expect(window.memory).to.deep.include({ someUs: 0n, fullUs: 0n, somePercent: 0 });
  });

  it('counts a recreated cgroup (totals went down) from zero', function () {
    const window = psiDelta(snapshot([9_000, 0], [0, 0], [0, 0]), snapshot([2_000, 0], [0, 0], [0, 0]), 10_000);
    expect(window.cpu.someUs).to.equal(2_000n);
    expect(window.cpu.somePercent).to.equal(20);
  });

  it('rejects a window that is not positive', function () {
    const s = snapshot([0, 0], [0, 0], [0, 0]);
    expect(() => psiDelta(s, s, 0)).to.throw(RangeError);
  });
});
