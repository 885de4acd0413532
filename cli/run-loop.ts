// How the node-local tools run, BCC style: say "Hit Ctrl-C to end.", poll until Ctrl-C,
// SIGTERM or the requested duration, poll once more so nothing seen is lost, then return
// so the tool can print its summary.
import { setTimeout as sleep } from 'node:timers/promises';

export type StopReason = 'interrupted' | 'elapsed';

export interface RunLoopOptions {
  /** Printed on stderr before "Hit Ctrl-C to end.", e.g. "Tracing block device I/O". */
  readonly announce: string;
  /** Stop after this long; until interrupted when absent. */
  readonly durationMs?: number | undefined;
  readonly pollMs: number;
  readonly poll: () => Promise<void> | void;
}

export async function runUntilStopped(o: RunLoopOptions): Promise<StopReason> {
  const stop = new AbortController();
  let reason: StopReason = 'elapsed';
  const onSignal = () => {
    reason = 'interrupted';
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const deadline = o.durationMs === undefined ? Infinity : Date.now() + o.durationMs;
  // On stderr, so that stdout carries only results.
  process.stderr.write(`${o.announce}... Hit Ctrl-C to end.\n`);
  try {
    while (!stop.signal.aborted && Date.now() < deadline) {
      await o.poll();
      const wait = Math.min(o.pollMs, deadline - Date.now());
      if (wait > 0) await sleep(wait, undefined, { signal: stop.signal }).catch(() => undefined);
    }
    await o.poll();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return reason;
}
