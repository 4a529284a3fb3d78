import { setTimeout as delay } from 'node:timers/promises';

/** Poll `check` every `intervalMs` until it returns true; throw naming `what` after `timeoutMs`. */
export async function waitUntil(
  check: () => Promise<boolean>,
  options: { what: string; timeoutMs: number; intervalMs?: number },
): Promise<void> {
  const deadline = performance.now() + options.timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    if (performance.now() >= deadline) {
      throw new Error(
        `timed out after ${options.timeoutMs} ms waiting for ${options.what}${last === undefined ? '' : ` (last error: ${String(last)})`}`,
      );
    }
    await delay(options.intervalMs ?? 250);
  }
}
