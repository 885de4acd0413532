import { expect } from 'chai';

import type { CacheWindow } from '../../../../agent/probes/index.js';
import { llcRows, renderLlc } from '../../../../cli/commands/llc-stat.js';

const task = (pid: number, cpu: number, comm: string, refs: number, misses: number) => ({
  pid,
  cpu,
  comm,
  llcReferences: refs,
  llcMisses: misses,
  cycles: 2 * refs,
  instructions: refs,
});

const cache: CacheWindow = {
  hierarchyId: 0,
  counters: [
    { cgroupId: 5n, llcReferences: 1000, llcMisses: 250, cycles: 3000, instructions: 1000, dead: false },
    { cgroupId: 6n, llcReferences: 10, llcMisses: 0, cycles: 10, instructions: 10, dead: false },
  ],
  tasks: [task(42, 1, 'perl', 900, 300), task(42, 0, 'perl', 50, 0), task(7, 0, 'sh', 0, 0), task(9, 1, 'dd', 200, 10)],
};

const paths = (id: bigint) => (id === 5n ? '/run/a' : '/run/b');

describe('cli llc-stat', function () {
  it('makes a row per process and CPU, the most references first, leaving out small and empty ones', function () {
    const rows = llcRows(cache, 'pid', { minReferences: 100 }, paths);
    expect(rows.map((r) => [r.key, r.cpu, r.references, r.misses])).to.deep.equal([
      ['42', 1, 900, 300],
      ['9', 1, 200, 10],
    ]);
    expect(rows[0]?.hitPercent).to.be.closeTo(66.67, 0.01);
    expect(rows[0]?.cpi).to.equal(2);
    expect(llcRows(cache, 'pid', { minReferences: 1, hitBelow: 90 }, paths).map((r) => r.key)).to.deep.equal(['42']);
  });

  it('makes a row per cgroup with --by cgroup', function () {
    const rows = llcRows(cache, 'cgroup', { minReferences: 1 }, paths);
    expect(rows.map((r) => [r.key, r.hitPercent, r.cpi])).to.deep.equal([
      ['/run/a', 75, 3],
      ['/run/b', 100, 1],
    ]);
  });

  it('prints llcstat columns and the totals', function () {
    const text = renderLlc(llcRows(cache, 'pid', { minReferences: 100 }, paths), 'pid').split('\n');
    expect(text[0]?.split(/ {2,}/)).to.deep.equal(['PID', 'NAME', 'CPU', 'REFERENCE', 'MISS', 'HIT%', 'CPI']);
    expect(text[1]?.split(/ {2,}/)).to.deep.equal(['42', 'perl', '1', '900', '300', '66.67%', '2.00']);
    expect(text.at(-1)).to.equal('Total References: 1100 Total Misses: 310 Hit Rate: 71.82%');
    expect(renderLlc([], 'cgroup').split('\n')[0]).to.match(/^CGROUP +REFERENCE +MISS +HIT% +CPI$/);
  });
});
