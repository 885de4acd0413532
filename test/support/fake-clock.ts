// A Clock whose time moves only when a test says so; due timers fire in time order.
import type { Clock, Timer } from '../../common/clock.js';

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

  /** Timers not yet fired. */
  get timers(): number {
    return this.pending.length;
  }
}
