import { setTimeout as sleep } from 'node:timers/promises';

/** Retries `check` until it stops throwing, then returns its result; after `timeoutMs`
 * the last error is thrown. For conditions that controllers reach asynchronously. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err: unknown) {
      if (Date.now() > deadline) throw err;
      await sleep(intervalMs);
    }
  }
}
