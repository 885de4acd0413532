import { expect } from 'chai';

import { emptyCounters, type SubjectCounters } from '../../../agent/measure/counters.js';
import { assessVictim, type Assessment } from '../../../agent/report/assess.js';
import { activeSubjects, renderTop, topJson, topRows, type TopFrame } from '../../../cli/top-view.js';

const wallNs = 2e9;

function burner(path: string, oncpuNs: number, waitNs: number, heldBy?: string): SubjectCounters {
  const c = emptyCounters({ kind: 'Cgroup', path });
  c.cpu.oncpuNs = oncpuNs;
  c.cpu.waitNs = waitNs;
  if (heldBy) c.cpu.waitBy.set(heldBy, waitNs);
  return c;
}

/** Two burners sharing a CPU, an idle cgroup, a pod doing IO. */
function window(): { counters: Map<string, SubjectCounters>; assessments: Map<string, Assessment> } {
  const counters = new Map<string, SubjectCounters>([
    ['cgroup//run/a', burner('/run/a', 1e9, 1e9, 'cgroup//run/b')],
    ['cgroup//run/b', burner('/run/b', 1e9, 0.9e9, 'cgroup//run/a')],
    ['cgroup//idle', emptyCounters({ kind: 'Cgroup', path: '/idle' })],
  ]);
  const pod = emptyCounters({ kind: 'Pod', namespace: 'shop', name: 'cart', uid: 'u1' });
  pod.io.completed = 30;
  pod.io.latencyHistogram = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 30]; // 512 µs - 1 ms
  pod.cpu.oncpuNs = 1e8;
  counters.set('pod/u1', pod);
  const neighbours = (key: string) =>
    new Map(
      [...counters]
        .filter(([k]) => k !== key)
        .map(([k, c]) => [k, { ref: c.ref, ioByDisk: c.io.byDisk, memoryOverRequestBytes: 0, memoryGrowthBytes: 0 }]),
    );
  const assessments = new Map<string, Assessment>();
  for (const [key, c] of counters) {
    const waitByNeighbour = new Map([...c.cpu.waitBy].filter(([k]) => k !== key));
    assessments.set(
      key,
      assessVictim(
        {
          wallNs,
          cpu: {
            waitNs: c.cpu.waitNs,
            runNs: c.cpu.oncpuNs,
            throttledNs: 0,
            p99WaitNs: 8e6,
            waitByNeighbour,
            writebackByNeighbour: new Map(),
          },
        },
        neighbours(key),
      ),
    );
  }
  return { counters, assessments };
}

describe('cli top view', function () {
  it('makes a row per active subject, the most affected first, with the aggressor the assessment found', function () {
    const { counters, assessments } = window();
    expect(activeSubjects(counters)).to.have.members(['cgroup//run/a', 'cgroup//run/b', 'pod/u1']);
    const rows = topRows(counters, assessments, wallNs);
    expect(rows.map((r) => r.name)).to.deep.equal(['/run/a', '/run/b', 'shop/cart']);
    expect(rows[0]).to.deep.include({ cpu: 0.5, wait: 0.5, verdict: 'High', kind: 'Cgroup' });
    expect(rows[0]?.topAggressor).to.deep.include({ who: '/run/b', resource: 'cpu', share: 1 });
    expect(rows[2]).to.deep.include({ verdict: 'None', ioP99Ns: 1_024_000, topAggressor: undefined });
  });

  it('renders the frame: header, worst victim and aggressor, table, notes; cut to the terminal', function () {
    const { counters, assessments } = window();
    const frame: TopFrame = {
      time: new Date(2026, 10, 25, 14, 2, 3),
      intervalMs: 2000,
      window: 7,
      rows: topRows(counters, assessments, wallNs),
      notes: ['cache probe unsupported: no hardware PMU (no CPI)'],
    };
    const lines = renderTop(frame, { cpi: false }).split('\n');
    expect(lines[0]).to.equal('crosstalk top - 14:02:03, window 7 (2 s), 3 active pods and cgroups');
    expect(lines[1]).to.match(
      /^worst victim: \/run\/a \(High, score \d+\); top aggressor: \/run\/b \(cpu 100%\): ran on the victim's CPU/,
    );
    expect(lines[3]?.split(/ {2,}/)).to.deep.equal([
      'POD/CGROUP',
      'VERDICT',
      'CPU',
      'WAIT',
      'IO p99',
      'RECLAIM',
      'CPI',
      'TOP AGGRESSOR',
    ]);
    expect(lines[4]?.split(/ {2,}/)).to.deep.equal([
      '/run/a',
      'High',
      '50%',
      '50%',
      '-',
      '-',
      'n/a',
      '/run/b (cpu 100%)',
    ]);
    expect(lines[6]?.split(/ {2,}/)).to.deep.equal(['shop/cart', 'None', '5%', '0%', '1.02 ms', '-', 'n/a', '-']);
    expect(lines.at(-1)).to.equal('cache probe unsupported: no hardware PMU (no CPI)');

    const small = renderTop(frame, { cpi: false, maxRows: 1, width: 30 }).split('\n');
    expect(small.every((l) => l.length <= 30)).to.equal(true);
    expect(small).to.include('(2 more)');
    expect(small.filter((l) => l.startsWith('/run/'))).to.have.length(1);
  });

  it('says when nobody suffers, and gives a frame as JSON', function () {
    const quiet = new Map([['cgroup//x', burner('/x', 1e8, 0)]]);
    const rows = topRows(quiet, new Map(), wallNs);
    const frame: TopFrame = { time: new Date(0), intervalMs: 1000, window: 1, rows, notes: [] };
    expect(renderTop(frame, { cpi: true }).split('\n')[1]).to.equal(
      'worst victim: none (no interference in this window)',
    );
    expect(topJson(frame)).to.deep.include({ window: 1, intervalSeconds: 1, worstVictim: null, topAggressor: null });
  });
});
