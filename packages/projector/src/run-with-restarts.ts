import { setTimeout as delay } from 'node:timers/promises';

/**
 * Run `run` until it returns or `signal` is aborted; after an error that escapes it, tell
 * `onFailure` (which logs and cleans up) and start over after a backoff: 500 ms, doubled per
 * failure in a row, at most 30 s. A projection or process that is up must keep going: the fault
 * campaign once found one alive, healthy and stalled for good.
 */
export async function runWithRestarts(
  run: () => Promise<void>,
  signal: AbortSignal,
  onFailure: (error: unknown, failures: number, retryInMs: number) => Promise<void>,
): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    try {
      await run();
      return;
    } catch (error) {
      if (signal.aborted) return;
      failures += 1;
      const retryInMs = Math.min(30_000, 250 * 2 ** Math.min(failures, 7));
      await onFailure(error, failures, retryInMs);
      await delay(retryInMs);
    }
  }
}
