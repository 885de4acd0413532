import { expect } from 'chai';

import type { CgroupRef, SlowRunqEvent } from '../../../../agent/probes/index.js';
import { runqSnoop } from '../../../../cli/commands/runq-snoop.js';
import type { SnoopContext, SnoopOptions } from '../../../../cli/snoop.js';

const paths: Record<string, string> = { '5': '/run/a', '6': '/run/b', '7': '/kubepods/pod-x' };

function context(options: Partial<SnoopOptions> = {}): SnoopContext {
  const path = (ref: CgroupRef) => paths[String(ref.id)] ?? `(cgroup id ${ref.id})`;
  return {
    startNs: 0n,
    options: { thresholdNs: 1e6, ...options },
    diskName: () => 'vda',
    path,
    owner: (ref) =>
      ref.id === 7n ? { kind: 'Pod', namespace: 'shop', name: 'cart', uid: 'u' } : { kind: 'Cgroup', path: path(ref) },
    threadName: (pid) => (pid === 30 ? 'kworker/1:1' : `pid ${pid}`),
  };
}

const wait: SlowRunqEvent = {
  type: 'slow-runq',
  time: new Date(2026, 10, 25, 14, 2, 3),
  monotonicNs: 5_000_000_000n,
  comm: 'sh',
  pid: 4242,
  cpu: 1,
  waitNs: 4_000_000,
  cgroup: { hierarchyId: 0, id: 5n },
  prev: { comm: 'sh', pid: 4243, cgroup: { hierarchyId: 0, id: 6n } },
  holders: [
    { holder: { kind: 'cgroup', id: 6n }, ns: 3_400_000 },
    { holder: { kind: 'thread', pid: 30 }, ns: 200_000 },
    { holder: { kind: 'cgroup', id: 7n }, ns: 200_000 },
    { holder: { kind: 'idle' }, ns: 100_000 },
  ],
  otherNs: 60_000,
  unattributedNs: 40_000,
};

describe('cli runq-snoop', function () {
  it('prints runqslower columns and who held the CPU, with shares of the wait', function () {
    const ctx = context();
    expect(runqSnoop.header(ctx)).to.match(
      /^TIME +COMM +TID +CPU +LAT\(ms\) PREV TASK +HELD BY \(share of the wait\)$/,
    );
    expect(runqSnoop.lines(wait, ctx)).to.deep.equal([
      '14:02:03 sh               4242      1     4.00 sh:4243                /run/b 85%, kworker/1:1 5%, shop/cart 5%, idle 3%, others 2%, unattributed 1%',
    ]);
  });

  it('adds the owner with -o, and keeps paths and shares in JSON', function () {
    const ctx = context({ owner: true });
    expect(runqSnoop.header(ctx)).to.contain(' OWNER ');
    expect(runqSnoop.lines(wait, ctx)[0]).to.contain('sh:4243                /run/a                   /run/b 85%');
    expect(runqSnoop.json(wait, ctx)).to.deep.include({
      tid: 4242,
      cpu: 1,
      latencyMs: 4,
      cgroup: '/run/a',
      prev: { comm: 'sh', tid: 4243, cgroup: '/run/b' },
    });
    const heldBy = runqSnoop.json(wait, ctx).heldBy as unknown[];
    expect(heldBy[1]).to.deep.equal({
      cgroup: '/',
      thread: { tid: 30, comm: 'kworker/1:1' },
      ms: 0.2,
      sharePercent: 5,
    });
    expect(heldBy[3]).to.deep.equal({ cgroup: null, ms: 0.1, sharePercent: 3 });
    expect(runqSnoop.cgroups(wait).map((r) => r.id)).to.deep.equal([5n, 6n, 7n]);
  });

  it('names kernel threads writing back a cgroup’s dirty pages by that cgroup, marked writeback', function () {
    const ctx = context();
    const flushed: SlowRunqEvent = {
      ...wait,
      holders: [
        { holder: { kind: 'writeback', id: 7n }, ns: 3_000_000 },
        { holder: { kind: 'cgroup', id: 7n }, ns: 1_000_000 },
      ],
      otherNs: 0,
      unattributedNs: 0,
    };
    expect(runqSnoop.lines(flushed, ctx)[0]).to.match(/ shop\/cart \(writeback\) 75%, shop\/cart 25%$/);
    expect((runqSnoop.json(flushed, ctx).heldBy as unknown[])[0]).to.deep.equal({
      cgroup: '/kubepods/pod-x',
      writeback: true,
      ms: 3,
      sharePercent: 75,
    });
    expect(runqSnoop.cgroups(flushed).map((r) => r.id)).to.deep.equal([5n, 7n, 7n]);
  });

  it('sums the holders over the run for the summary', function () {
    const s = runqSnoop.summary(context());
    s.add(wait);
    s.add({ ...wait, holders: [{ holder: { kind: 'cgroup', id: 7n }, ns: 4_000_000 }] });
    expect(s.text()).to.equal('8 ms waited, held by shop/cart 53%, /run/b 43%, kworker/1:1 3%');
    expect(s.json()).to.deep.equal({
      waitMs: 8,
      heldBy: { '/run/b': 3.4, 'kworker/1:1': 0.2, 'shop/cart': 4.2, idle: 0.1 },
    });
  });
});
