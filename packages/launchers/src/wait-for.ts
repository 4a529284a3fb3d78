import { setTimeout as delay } from 'node:timers/promises';
import { LauncherError } from './launcher-error.js';

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** What is awaited, for the error message. */
  readonly what: string;
  /** Give up after this many milliseconds. Default 30 000. */
  readonly timeoutMs?: number;
  /** Pause between attempts in milliseconds. Default 50. */
  readonly intervalMs?: number;
  /** Called before each retry; throw from it to stop waiting early (e.g. the process died). */
  readonly abortIf?: () => void;
}

/**
 * Poll `probe` until it resolves to a value other than `undefined`/`false`, or the deadline passes.
 * A probe that throws counts as "not yet"; the last error becomes the `cause` on timeout.
 */
export async function waitFor<T>(probe: () => Promise<T | undefined | false>, options: WaitForOptions): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    options.abortIf?.();
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new LauncherError(`timed out after ${timeoutMs} ms waiting for ${options.what}${reason}`, {
        cause: lastError,
      });
    }
    await delay(intervalMs);
  }
}
