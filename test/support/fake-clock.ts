// A Clock whose time moves only when a test says so; due timers fire in time order.
import { setImmediate } from 'node:timers/promises';

import type { Clock, Timer } from '../../common/clock.js';

/** Lets every promise chain that can run without the clock moving run to its end. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await setImmediate();
}

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private pending: Pending[] = [];
  private seq = 0;

  constructor(private time = Date.parse('2026-11-25T12:00:00Z')) {}

  now(): number {
    return this.time;
  }

  /** Moves with now(); its origin is of no meaning, as CLOCK_MONOTONIC's. */
  monotonicNs(): bigint {
    return BigInt(Math.round(this.time)) * 1_000_000n;
  }

  setTimer(fn: () => void, ms: number): Timer {
    const entry = { at: this.time + Math.max(0, ms), seq: this.seq++, fn };
    this.pending.push(entry);
    return { cancel: () => (this.pending = this.pending.filter((p) => p !== entry)) };
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      const due = this.pending.filter((p) => p.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.pending = this.pending.filter((p) => p !== due);
      this.time = due.at;
      due.fn();
    }
    this.time = target;
  }

  /** Moves time forward `ms` in steps of `stepMs`, letting promises settle after each (so
   * that timers set by code resuming from a fired timer fire too). */
  async elapse(ms: number, stepMs = ms): Promise<void> {
    for (let done = 0; done < ms; done += stepMs) {
      this.advance(Math.min(stepMs, ms - done));
      await settle();
    }
  }

  /** Timers not yet fired. */
  get timers(): number {
    return this.pending.length;
  }
}
