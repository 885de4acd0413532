import { expect } from 'chai';

import type { ProbeName, RawRecord } from '../../../../agent/native/index.js';
import { diffWindow, type Snapshot } from '../../../../agent/windows/probe-deltas.js';
import { rawSections } from '../../../fixtures/raw-sections.js';

const zeros = (n: number) => Array.from({ length: n }, () => 0n);

const cpu = (cgroupId: bigint, oncpuNs: bigint, flags = 0): RawRecord<'cpuCgroupRecord'> => ({
  cgroupId,
  flags,
  oncpuNs,
  slices: oncpuNs / 1000n,
  involuntary: 0n,
});

const context = (active: [ProbeName, number | undefined][], startNs = 0n, endNs = 1_000_000_000n) => ({
  startNs,
  endNs,
  active: new Map(active),
});

describe('probe windows (cumulative counters to deltas)', function () {
  it('reports everything counted so far in the first window', function () {
    const { window } = diffWindow(new Map(), rawSections({ cpuCgroups: [cpu(5n, 3000n)] }), context([['cpu', 0]]));
    expect(window.durationNs).to.equal(1e9);
    expect(window.cpu?.usage).to.deep.equal([{ cgroupId: 5n, oncpuNs: 3000, slices: 3, involuntary: 0, dead: false }]);
    expect(window.io).to.equal(undefined);
  });

  it('reports the change since the previous read and leaves unchanged records out', function () {
    let snapshot: Snapshot = new Map();
    ({ snapshot } = diffWindow(
      snapshot,
      rawSections({ cpuCgroups: [cpu(5n, 3000n), cpu(6n, 10n)] }),
      context([['cpu', 0]]),
    ));
    const { window } = diffWindow(
      snapshot,
      rawSections({ cpuCgroups: [cpu(5n, 8000n), cpu(6n, 10n)] }),
      context([['cpu', 0]]),
    );
    expect(window.cpu?.usage).to.deep.equal([{ cgroupId: 5n, oncpuNs: 5000, slices: 5, involuntary: 0, dead: false }]);
  });

  it('reports a dead cgroup once with its final change, then counts a reappearing id from zero', function () {
    let snapshot: Snapshot = new Map();
    ({ snapshot } = diffWindow(snapshot, rawSections({ cpuCgroups: [cpu(5n, 3000n)] }), context([['cpu', 0]])));
    let window;
    ({ window, snapshot } = diffWindow(
      snapshot,
      rawSections({ cpuCgroups: [cpu(5n, 3000n, 1)] }),
      context([['cpu', 0]]),
    ));
    expect(window.cpu?.usage).to.deep.equal([{ cgroupId: 5n, oncpuNs: 0, slices: 0, involuntary: 0, dead: true }]);
    expect(snapshot.size).to.equal(0);
    ({ window } = diffWindow(snapshot, rawSections({ cpuCgroups: [cpu(5n, 700n)] }), context([['cpu', 0]])));
    expect(window.cpu?.usage[0]?.oncpuNs).to.equal(700);
  });

  it('treats a counter below the snapshot as restarted from zero', function () {
    const { snapshot } = diffWindow(new Map(), rawSections({ cpuCgroups: [cpu(5n, 3000n)] }), context([['cpu', 0]]));
    const { window } = diffWindow(snapshot, rawSections({ cpuCgroups: [cpu(5n, 1000n)] }), context([['cpu', 0]]));
    expect(window.cpu?.usage[0]?.oncpuNs).to.equal(1000);
  });

  it('splits histograms, attribution pairs and io keys', function () {
    const hist = zeros(32);
    hist[12] = 4n;
    const { window } = diffWindow(
      new Map(),
      rawSections({
        runqVictims: [{ cgroupId: 5n, flags: 0, waitNs: 9000n, waits: 4n, unattributedNs: 100n, hist }],
        waitPairs: [
          { victim: 5n, aggressor: 6n, flags: 0, waitNs: 8900n },
          { victim: 5n, aggressor: 0n, flags: 0, waitNs: 50n },
          { victim: 5n, aggressor: (1n << 63n) | 77n, flags: 0, waitNs: 40n },
          { victim: 5n, aggressor: (1n << 62n) | 6n, flags: 0, waitNs: 10n },
        ],
        ioStats: [{ cgroupId: 7n, dev: (254 << 20) | 16, op: 1, sync: 1, flags: 0, ops: 2n, bytes: 8192n }],
        ioLatency: [
          {
            cgroupId: 7n,
            dev: (254 << 20) | 16,
            op: 3,
            sync: 0,
            flags: 0,
            count: 2n,
            totalNs: 50n,
            deviceNs: 40n,
            delayedNs: 30n,
            unattributedNs: 5n,
            totalHist: hist,
            deviceHist: zeros(32),
          },
        ],
        ioDelays: [{ victim: 7n, holder: 9n, dev: (254 << 20) | 16, flags: 0, ns: 25n, requests: 2n }],
      }),
      context([
        ['cpu', 0],
        ['io', 7],
      ]),
    );
    expect(window.cpu?.victims[0]).to.include({ waitNs: 9000, waits: 4, unattributedNs: 100 });
    expect(window.cpu?.victims[0]?.histogram[12]).to.equal(4);
    expect(window.cpu?.victims[0]?.histogram).to.have.length(32);
    // Holder keys: a cgroup, the idle CPU, a thread of the root cgroup (cpu.h
    // CT_HOLDER_THREAD), a cgroup whose dirty pages root threads wrote back (CT_HOLDER_WRITEBACK).
    expect(window.cpu?.attribution).to.deep.equal([
      { victim: 5n, aggressor: { kind: 'cgroup', id: 6n }, waitNs: 8900, dead: false },
      { victim: 5n, aggressor: { kind: 'idle' }, waitNs: 50, dead: false },
      { victim: 5n, aggressor: { kind: 'thread', pid: 77 }, waitNs: 40, dead: false },
      { victim: 5n, aggressor: { kind: 'writeback', id: 6n }, waitNs: 10, dead: false },
    ]);
    expect(window.io?.hierarchyId).to.equal(7);
    expect(window.io?.traffic).to.deep.equal([
      { cgroupId: 7n, device: { major: 254, minor: 16 }, op: 'write', sync: true, ops: 2, bytes: 8192, dead: false },
    ]);
    const latency = window.io?.latency[0];
    expect(latency).to.include({
      op: 'discard',
      sync: false,
      count: 2,
      totalNs: 50,
      deviceNs: 40,
      delayedNs: 30,
      unattributedNs: 5,
    });
    expect(window.io?.delays).to.deep.equal([
      { victim: 7n, holder: 9n, device: { major: 254, minor: 16 }, ns: 25, requests: 2, dead: false },
    ]);
    expect(latency?.totalHistogram[12]).to.equal(4);
    expect(latency?.deviceHistogram).to.have.length(32);
  });

  it('maps reclaim kinds and cache counters in their C order', function () {
    const { window } = diffWindow(
      new Map(),
      rawSections({
        reclaim: [{ cgroupId: 3n, flags: 0, stallNs: [10n, 20n], count: [1n, 2n], pages: [100n, 200n] }],
        cache: [{ cgroupId: 3n, flags: 0, counts: [1000n, 100n, 5000n, 2500n] }],
      }),
      context([
        ['memory', 0],
        ['cache', 0],
      ]),
    );
    expect(window.memory?.stalls[0]).to.deep.include({
      direct: { stallNs: 10, count: 1, pages: 100 },
      memcg: { stallNs: 20, count: 2, pages: 200 },
    });
    expect(window.cache?.counters[0]).to.include({
      llcReferences: 1000,
      llcMisses: 100,
      cycles: 5000,
      instructions: 2500,
    });
  });

  it('always reports the health of active probes, as deltas', function () {
    const health = (mapFull: bigint): RawRecord<'healthRecord'> => ({
      probe: 0,
      mapFull,
      eventsDropped: 0n,
      stackErrors: 0n,
      readErrors: 0n,
      queueDropped: 0n,
      stacksLost: 0n,
    });
    const first = diffWindow(new Map(), rawSections({ health: [health(2n)] }), context([['cpu', 0]]));
    expect(first.window.health[0]).to.include({ probe: 'cpu', mapFull: 2 });
    const second = diffWindow(first.snapshot, rawSections({ health: [health(2n)] }), context([['cpu', 0]]));
    expect(second.window.health).to.deep.equal([
      { probe: 'cpu', mapFull: 0, eventsDropped: 0, stackErrors: 0, readErrors: 0, queueDropped: 0, stacksLost: 0 },
    ]);
  });
  it('counts per process and CPU only when the session asks for it', function () {
    const task = (counts: bigint[]): RawRecord<'cacheTaskRecord'> => ({
      pid: 42,
      cpu: 1,
      flags: 0,
      counts,
      comm: 'perl',
    });
    const raw = (counts: bigint[]) => rawSections({ cacheTasks: [task(counts)] });
    const byTask = { ...context([['cache', 0]]), cacheByTask: true };
    expect(diffWindow(new Map(), raw([1n, 0n, 5n, 5n]), context([['cache', 0]])).window.cache).to.deep.equal({
      hierarchyId: 0,
      counters: [],
    });
    const first = diffWindow(new Map(), raw([10n, 2n, 50n, 25n]), byTask);
    expect(first.window.cache?.tasks).to.deep.equal([
      { pid: 42, cpu: 1, comm: 'perl', llcReferences: 10, llcMisses: 2, cycles: 50, instructions: 25 },
    ]);
    const second = diffWindow(first.snapshot, raw([15n, 2n, 70n, 30n]), byTask);
    expect(second.window.cache?.tasks?.[0]).to.include({ llcReferences: 5, llcMisses: 0, cycles: 20, instructions: 5 });
    expect(diffWindow(second.snapshot, raw([15n, 2n, 70n, 30n]), byTask).window.cache?.tasks).to.deep.equal([]);
  });
});
