import { expect } from 'chai';

import { WorkQueue } from '../../../operator/workqueue.js';
import { FakeClock } from '../../support/fake-clock.js';

describe('WorkQueue', function () {
  let clock: FakeClock;
  let queue: WorkQueue;

  beforeEach(function () {
    clock = new FakeClock();
    queue = new WorkQueue({ clock, baseDelayMs: 10, maxDelayMs: 1000 });
  });

  it('hands out keys in order and dedupes a key that is already waiting', async function () {
    queue.add('a');
    queue.add('b');
    queue.add('a');
    expect(queue.length).to.equal(2);
    expect(await queue.get()).to.equal('a');
    expect(await queue.get()).to.equal('b');
    expect(queue.length).to.equal(0);
  });

  it('never gives a key to two workers: re-adding during processing waits for done()', async function () {
    queue.add('a');
    const first = await queue.get();
    queue.add('a');
    expect(queue.length, 'not ready while processed').to.equal(0);
    let second: string | undefined;
    void queue.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).to.be.undefined;
    queue.done(first!);
    await Promise.resolve();
    expect(second).to.equal('a');
  });

  it('wakes a waiting worker when a key arrives', async function () {
    const pending = queue.get();
    queue.add('x');
    expect(await pending).to.equal('x');
  });

  it('backs off failures exponentially per key up to the maximum, and forget resets it', async function () {
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      const before = clock.now();
      queue.addRateLimited('k');
      let waited = 0;
      while (queue.length === 0 && waited < 2000) {
        clock.advance(1);
        waited++;
      }
      delays.push(clock.now() - before);
      expect(waited).to.be.greaterThan(0);
      queue.done((await queue.get())!);
    }
    expect(delays).to.deep.equal([10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    expect(queue.numRequeues('k')).to.equal(9);
    expect(queue.numRequeues('other')).to.equal(0);
    queue.forget('k');
    expect(queue.numRequeues('k')).to.equal(0);
  });

  it('addAfter keeps the earliest pending visit of a key', function () {
    queue.addAfter('k', 500);
    queue.addAfter('k', 100);
    queue.addAfter('k', 900);
    expect(queue.delayedCount).to.equal(1);
    clock.advance(99);
    expect(queue.length).to.equal(0);
    clock.advance(1);
    expect(queue.length).to.equal(1);
    clock.advance(1000);
    expect(queue.length, 'the later visits were dropped').to.equal(1);
    expect(clock.timers).to.equal(0);
  });

  it('shuts down: waiting workers get undefined, timers are cancelled, adds are ignored', async function () {
    const waiting = queue.get();
    queue.addAfter('later', 100);
    queue.shutDown();
    expect(await waiting).to.be.undefined;
    expect(clock.timers).to.equal(0);
    queue.add('x');
    expect(await queue.get()).to.be.undefined;
  });
});
