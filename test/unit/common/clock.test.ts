import { expect } from 'chai';

import { microTime, sleep } from '../../../common/clock.js';
import { FakeClock } from '../../support/fake-clock.js';

describe('clock helpers', function () {
  it('formats metav1.MicroTime with six fractional digits', function () {
    expect(microTime(Date.parse('2026-11-25T12:00:00.123Z'))).to.equal('2026-11-25T12:00:00.123000Z');
  });

  it('sleeps on the given clock and wakes early, without error, when aborted', async function () {
    const clock = new FakeClock();
    let woke = false;
    const done = sleep(clock, 1000).then(() => (woke = true));
    clock.advance(999);
    await Promise.resolve();
    expect(woke).to.be.false;
    clock.advance(1);
    await done;
    expect(woke).to.be.true;

    const abort = new AbortController();
    const early = sleep(clock, 60_000, abort.signal);
    abort.abort();
    await early;
    expect(clock.timers, 'the timer was cancelled').to.equal(0);
  });
});
