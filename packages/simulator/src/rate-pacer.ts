import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Hands out send slots at a target rate shared by every rider: each caller takes the next slot
 * and sleeps until it. Rate 0 means no pacing. Missed slots are not banked, so a stall (a
 * failover) is not followed by a burst.
 */
export class RatePacer {
  #rate: number;
  #next = 0;

  constructor(rate: number) {
    this.#rate = rate;
  }

  /** Commands per second; 0 = as fast as the riders go. */
  get rate(): number {
    return this.#rate;
  }

  set rate(value: number) {
    this.#rate = Math.max(0, value);
  }

  /** Resolves at the caller's slot. */
  async wait(signal?: AbortSignal): Promise<void> {
    if (this.#rate <= 0) return;
    const now = performance.now();
    const interval = 1_000 / this.#rate;
    this.#next = Math.max(this.#next + interval, now);
    const delay = this.#next - now;
    if (delay >= 1) await sleep(delay, undefined, { signal }).catch(() => undefined);
  }
}
