import { expect } from 'chai';

import { decodeEvents, rwbs, type EventContext } from '../../../../agent/probes/events.js';
import { rawSections } from '../../../fixtures/raw-sections.js';

const none = rawSections();

const frames = (...addresses: bigint[]) => [...addresses, ...Array.from({ length: 32 - addresses.length }, () => 0n)];

const context: EventContext = {
  ioHierarchyId: 7,
  memoryHierarchyId: 0,
  cpuHierarchyId: 0,
  wallTime: (ns) => new Date(Number(ns / 1_000_000n)),
  symbolize: (address) =>
    address === 1n ? 'bpf_prog_abc_io_insert_btf+0x24' : address === 2n ? 'bpf_trace_run1+0xed' : `f${address}`,
};

describe('probe events', function () {
  it('spells request flags the way biosnoop does', function () {
    expect(rwbs(1, 1)).to.equal('WS');
    expect(rwbs(0, 4)).to.equal('RA');
    expect(rwbs(1, 16 | 8 | 1 | 2)).to.equal('FWFSM');
    expect(rwbs(3, 0)).to.equal('D');
    expect(rwbs(2, 0)).to.equal('F');
    expect(rwbs(9, 0)).to.equal('N');
  });

  it('types every record, oldest first, with wall time, hierarchy and stack', function () {
    const events = decodeEvents(
      {
        ...none,
        cgroupEvents: [
          { timeNs: 3_000_000n, cgroupId: 42n, kind: 2, hierarchyId: 0, level: 3, pathTruncated: 0, path: '/a/b/c' },
        ],
        ioEvents: [
          {
            timeNs: 2_000_000n,
            totalNs: 500n,
            deviceNs: 400n,
            sector: 99n,
            bytes: 4096n,
            cgroupId: 11n,
            pid: 10,
            dev: (8 << 20) | 0,
            flags: 1,
            stackId: 5,
            op: 1,
            comm: 'dd',
            nframes: 4,
            frames: frames(1n, 2n, 3n, 4n),
          },
        ],
        reclaimEvents: [
          {
            timeNs: 1_000_000n,
            latencyNs: 7n,
            pages: 9n,
            cgroupId: 12n,
            tid: 20,
            kind: 1,
            stackId: -14,
            comm: 'java',
            nframes: 0,
            frames: frames(),
          },
        ],
      },
      context,
    );
    expect(events.map((e) => e.type)).to.deep.equal(['slow-reclaim', 'slow-io', 'cgroup']);
    expect(events[0]).to.deep.include({ kind: 'memcg', latencyNs: 7, pages: 9, cgroup: { hierarchyId: 0, id: 12n } });
    expect(events[0]).to.not.have.property('stack');
    expect(events[1]).to.deep.include({
      op: 'write',
      flags: 'WS',
      device: { major: 8, minor: 0 },
      cgroup: { hierarchyId: 7, id: 11n },
      stack: ['f3', 'f4'],
      time: new Date(2),
    });
    expect(events[2]).to.deep.include({ kind: 'rmdir', path: '/a/b/c', cgroup: { hierarchyId: 0, id: 42n } });
  });
  it('types a slow run-queue wait with its holders, the largest share first', function () {
    // (holder key, ns) pairs, three used: a cgroup, the idle CPU, a root-cgroup thread.
    const holders = [6n, 100n, 0n, 50n, (1n << 63n) | 77n, 10n, 0n, 0n];
    const [event] = decodeEvents(
      {
        ...none,
        runqEvents: [
          {
            timeNs: 4_000_000n,
            waitNs: 200n,
            cgroupId: 5n,
            unattributedNs: 30n,
            otherNs: 20n,
            prevCgroup: 6n,
            pid: 42,
            cpu: 1,
            prevPid: 43,
            nholders: 3,
            comm: 'sh',
            prevComm: 'burn',
            holders,
          },
        ],
      },
      context,
    );
    expect(event).to.deep.equal({
      type: 'slow-runq',
      time: new Date(4),
      monotonicNs: 4_000_000n,
      comm: 'sh',
      pid: 42,
      cpu: 1,
      waitNs: 200,
      cgroup: { hierarchyId: 0, id: 5n },
      prev: { comm: 'burn', pid: 43, cgroup: { hierarchyId: 0, id: 6n } },
      holders: [
        { holder: { kind: 'cgroup', id: 6n }, ns: 100 },
        { holder: { kind: 'idle' }, ns: 50 },
        { holder: { kind: 'thread', pid: 77 }, ns: 10 },
      ],
      otherNs: 20,
      unattributedNs: 30,
    });
  });
});
