import { expect } from 'chai';
import { setImmediate as flush } from 'node:timers/promises';

import {
  LeaderElectionConfigError,
  LeaderElector,
  type LeaseRecord,
  type LeaseStore,
} from '../../../operator/leader-election.js';
import { FakeClock } from '../../support/fake-clock.js';
import { quietLog } from '../../support/quiet-log.js';

/** One Lease with optimistic concurrency, like the apiserver's; `down` makes every call fail. */
class MemoryLease implements LeaseStore {
  record: LeaseRecord | undefined;
  version = 0;
  down = false;

  get() {
    if (this.down) return Promise.reject(new Error('apiserver unreachable'));
    return Promise.resolve(this.record && { record: { ...this.record }, version: String(this.version) });
  }

  create(record: LeaseRecord) {
    if (this.down || this.record) return Promise.reject(new Error('AlreadyExists'));
    this.record = { ...record };
    return Promise.resolve(String(++this.version));
  }

  update(record: LeaseRecord, version: string) {
    if (this.down || version !== String(this.version)) return Promise.reject(new Error('Conflict'));
    this.record = { ...record };
    return Promise.resolve(String(++this.version));
  }
}

describe('leader election', function () {
  let clock: FakeClock;
  let lease: MemoryLease;
  const stops: AbortController[] = [];

  function candidate(identity: string) {
    const events: string[] = [];
    const elector = new LeaderElector({
      identity,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      store: lease,
      clock,
      log: quietLog,
      onStartedLeading: () => events.push('started'),
      onStoppedLeading: () => events.push('stopped'),
    });
    const stop = new AbortController();
    stops.push(stop);
    const done = elector.run(stop.signal);
    return { elector, events, stop, done };
  }

  /** Moves the fake time forward in small steps, letting the electors' promises run. */
  async function elapse(ms: number, step = 500): Promise<void> {
    for (let t = 0; t < ms; t += step) {
      clock.advance(step);
      for (let i = 0; i < 5; i++) await flush();
    }
  }

  beforeEach(function () {
    clock = new FakeClock();
    lease = new MemoryLease();
  });

  afterEach(function () {
    for (const s of stops.splice(0)) s.abort();
  });

  it('elects exactly one of two candidates and keeps it while it renews', async function () {
    const a = candidate('a');
    await elapse(100, 100);
    const b = candidate('b');
    await elapse(60_000);
    expect(a.elector.isLeader()).to.be.true;
    expect(b.elector.isLeader()).to.be.false;
    expect(b.elector.observedLeader()).to.equal('a');
    expect(lease.record?.holderIdentity).to.equal('a');
    expect(lease.record?.leaseTransitions).to.equal(0);
    expect(Date.parse(lease.record!.renewTime!), 'renewed within the last retry period').to.be.above(
      clock.now() - 2000,
    );
  });

  it('lets a standby take over once a crashed leader has not renewed for the lease duration', async function () {
    const a = candidate('a');
    await elapse(1000);
    const b = candidate('b');
    await elapse(4000);
    a.stop.abort(); // crashed: no release
    const crashedAt = clock.now();
    while (!b.elector.isLeader()) await elapse(500);
    const waited = clock.now() - crashedAt;
    expect(waited).to.be.within(15_000 - 2_000, 15_000 + 2_500);
    expect(lease.record).to.include({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(b.events).to.deep.equal(['started']);
  });

  it('hands over at once when the leader releases the lease on shutdown', async function () {
    const a = candidate('a');
    await elapse(1000);
    const b = candidate('b');
    await elapse(4000);
    a.stop.abort();
    await a.done;
    await a.elector.release();
    expect(lease.record?.holderIdentity).to.equal('');
    await elapse(2500);
    expect(b.elector.isLeader()).to.be.true;
  });

  it('steps down when it cannot renew within the renew deadline, before the lease can expire', async function () {
    const a = candidate('a');
    await elapse(1000);
    expect(a.elector.isLeader()).to.be.true;
    const lastRenew = clock.now() - (clock.now() % 2000);
    lease.down = true;
    while (a.elector.isLeader()) await elapse(500);
    expect(a.events).to.deep.equal(['started', 'stopped']);
    expect(clock.now() - lastRenew)
      .to.be.at.least(10_000)
      .and.below(15_000);
    await a.done;
  });

  it('refuses timings that would let two leaders overlap', function () {
    const make = (lease: number, renew: number, retry: number) =>
      new LeaderElector({
        identity: 'x',
        leaseDurationMs: lease,
        renewDeadlineMs: renew,
        retryPeriodMs: retry,
        store: new MemoryLease(),
        clock,
        log: quietLog,
        onStartedLeading: () => {},
        onStoppedLeading: () => {},
      });
    expect(() => make(10_000, 10_000, 2_000)).to.throw(LeaderElectionConfigError);
    expect(() => make(15_000, 10_000, 10_000)).to.throw(LeaderElectionConfigError);
    expect(() => make(15_000, 10_000, 2_000)).to.not.throw();
  });
});
