import { expect } from 'chai';

import { foldWindow, type FoldContext, type ResolveSubject } from '../../../../agent/measure/fold.js';
import { probeRead } from '../../../support/fake-probes.js';

// unified ids: 10 = victim container, 11 = victim's second container, 20 = aggressor; blkio id 5 = victim
const resolve: ResolveSubject = (hierarchyId, id) => {
  if ((hierarchyId === 0 && (id === 10n || id === 11n)) || (hierarchyId === 7 && id === 5n)) {
    return { key: 'pod/v', ref: { kind: 'Pod', namespace: 'shop', name: 'checkout', uid: 'v' } };
  }
  if (hierarchyId === 0 && id === 20n)
    return { key: 'pod/a', ref: { kind: 'Pod', namespace: 'batch', name: 'etl', uid: 'a' } };
  return { key: `cgroup/${hierarchyId}:${id}`, ref: { kind: 'Cgroup', path: `/x/${id}` } };
};
const context: FoldContext = {
  resolve,
  nameDisk: () => 'vda',
  nameThread: (pid) => ({ key: `thread/${pid}`, ref: { kind: 'Thread', pid, name: 'kworker/1:1' } }),
};

const window = probeRead({
  cpu: {
    hierarchyId: 0,
    usage: [
      { cgroupId: 10n, oncpuNs: 100e6, slices: 10, involuntary: 4, dead: false },
      { cgroupId: 11n, oncpuNs: 50e6, slices: 5, involuntary: 1, dead: true },
      { cgroupId: 20n, oncpuNs: 800e6, slices: 80, involuntary: 0, dead: false },
    ],
    victims: [
      { cgroupId: 10n, waitNs: 300e6, waits: 10, unattributedNs: 0, histogram: [0, 1, 2], dead: false },
      { cgroupId: 11n, waitNs: 100e6, waits: 5, unattributedNs: 10e6, histogram: [0, 0, 5], dead: true },
    ],
    attribution: [
      { victim: 10n, aggressor: { kind: 'cgroup', id: 20n }, waitNs: 280e6, dead: false },
      { victim: 10n, aggressor: { kind: 'idle' }, waitNs: 20e6, dead: false },
      { victim: 11n, aggressor: { kind: 'cgroup', id: 20n }, waitNs: 60e6, dead: true },
      { victim: 11n, aggressor: { kind: 'cgroup', id: 10n }, waitNs: 30e6, dead: true },
      { victim: 10n, aggressor: { kind: 'thread', pid: 42 }, waitNs: 5e6, dead: false },
      { victim: 10n, aggressor: { kind: 'writeback', id: 20n }, waitNs: 15e6, dead: false },
    ],
  },
  io: {
    hierarchyId: 7,
    traffic: [
      { cgroupId: 5n, device: { major: 254, minor: 0 }, op: 'read', sync: true, ops: 30, bytes: 122880, dead: false },
      { cgroupId: 9n, device: { major: 254, minor: 0 }, op: 'write', sync: false, ops: 8, bytes: 8e6, dead: false },
    ],
    latency: [
      {
        cgroupId: 5n,
        device: { major: 254, minor: 0 },
        op: 'read',
        sync: true,
        count: 30,
        totalNs: 3e6,
        deviceNs: 2e6,
        delayedNs: 2.5e6,
        unattributedNs: 0.1e6,
        totalHistogram: [0, 0, 0, 0, 0, 0, 0, 30],
        deviceHistogram: [0, 0, 0, 0, 0, 30],
        dead: false,
      },
    ],
    delays: [
      { victim: 5n, holder: 9n, device: { major: 254, minor: 0 }, ns: 2e6, requests: 20, dead: false },
      { victim: 5n, holder: 0n, device: { major: 254, minor: 0 }, ns: 0.4e6, requests: 2, dead: false },
    ],
  },
});

describe('folding a probe window into subjects', function () {
  it('sums a pod’s containers and keeps who held the CPU by subject', function () {
    const subjects = foldWindow(window, context);
    const victim = subjects.get('pod/v')!;
    expect(victim.cpu.oncpuNs).to.equal(150e6);
    expect(victim.cpu.waitNs).to.equal(400e6);
    expect(victim.cpu.waits).to.equal(15);
    expect(victim.cpu.idleWaitNs).to.equal(20e6);
    expect(victim.cpu.waitHistogram).to.deep.equal([0, 1, 7]);
    // The idle CPU (aggressor 0) is nobody's; the pod's own other container is itself.
    // A root-cgroup thread is a holder of its own, named; one writing back a pod's dirty
    // pages holds the CPU for that pod, and that part is kept apart too.
    expect(Object.fromEntries(victim.cpu.waitBy)).to.deep.equal({
      'pod/a': 355e6,
      'pod/v': 30e6,
      'thread/42': 5e6,
    });
    expect(Object.fromEntries(victim.cpu.writebackBy)).to.deep.equal({ 'pod/a': 15e6 });
    expect(subjects.get('thread/42')!.ref).to.deep.equal({ kind: 'Thread', pid: 42, name: 'kworker/1:1' });
    expect(subjects.get('pod/a')!.cpu.oncpuNs).to.equal(800e6);
  });

  it('charges IO to the owner in the io probe’s hierarchy and uses insert-to-completion latency', function () {
    const subjects = foldWindow(window, context);
    const victim = subjects.get('pod/v')!;
    expect(Object.fromEntries(victim.io.byDisk)).to.deep.equal({ vda: { readBytes: 122880, writeBytes: 0, ops: 30 } });
    expect(victim.io.completed).to.equal(30);
    expect(victim.io.latencyHistogram[7]).to.equal(30);
    expect(subjects.get('cgroup/7:9')!.io.byDisk.get('vda')).to.deep.equal({ readBytes: 0, writeBytes: 8e6, ops: 8 });
  });

  it('keeps how long the victim’s requests were in flight beside each owner, ownerless ones as the root', function () {
    const victim = foldWindow(window, context).get('pod/v')!;
    expect(victim.io.requestNs).to.equal(3e6);
    expect(victim.io.delayedNs).to.equal(2.5e6);
    expect(victim.io.unattributedDelayNs).to.equal(0.1e6);
    expect(Object.fromEntries(victim.io.delayBy)).to.deep.equal({ 'cgroup/7:9': 2e6, 'cgroup/7:1': 0.4e6 });
  });
});
