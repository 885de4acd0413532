// A work queue of object keys in the manner of client-go's: a key waits at most once
// (adding it again while it waits is a no-op), a key being processed is never handed to
// a second worker (it is re-queued when the first one is done), failures back off per key
// exponentially, and `addAfter` schedules a later visit.
import { systemClock, type Clock, type Timer } from '../common/clock.js';

export interface WorkQueueOptions {
  clock?: Clock;
  /** Delay after a key's first failure; doubled with each further failure. */
  baseDelayMs?: number;
  /** Longest backoff delay. */
  maxDelayMs?: number;
}

export class WorkQueue {
  private readonly clock: Clock;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  /** Keys ready for a worker, in arrival order. */
  private readonly ready: string[] = [];
  /** Keys that need processing (ready, or re-added while being processed). */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly delayed = new Map<string, { at: number; timer: Timer }>();
  private readonly failures = new Map<string, number>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.baseDelayMs = options.baseDelayMs ?? 5;
    this.maxDelayMs = options.maxDelayMs ?? 300_000;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // done() re-queues it
    this.ready.push(key);
    this.wakeOne();
  }

  /** Adds `key` after `ms`; an earlier pending visit of the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    pending?.timer.cancel();
    const timer = this.clock.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** Re-adds a key that failed, after its backoff delay. */
  addRateLimited(key: string): void {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    this.addAfter(key, Math.min(this.baseDelayMs * 2 ** failures, this.maxDelayMs));
  }

  /** Resets a key's backoff (after it succeeded, or failed for good). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to process, or undefined once the queue shuts down. Call done(key) after. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.ready.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) {
      this.ready.push(key);
      this.wakeOne();
    }
  }

  /** Keys waiting for a worker (the queue depth). */
  get length(): number {
    return this.ready.length;
  }

  /** Keys scheduled for later. */
  get delayedCount(): number {
    return this.delayed.size;
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  private take(key: string): string {
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  private wakeOne(): void {
    const waiter = this.waiters.shift();
    if (!waiter) return;
    const key = this.ready.shift();
    if (key === undefined) {
      this.waiters.unshift(waiter);
      return;
    }
    waiter(this.take(key));
  }
}
