/**
 * The closed-loop load shared by the e2e and Emmett benchmarks: `lanes` concurrent loops for `ms`,
 * lane l owning turnstiles l, l + lanes, …, so no two commands for one turnstile are ever in flight
 * together (independent aggregates, as at scale, and no version conflicts).
 */
import { elapsedMs, summarizeLatencies } from './stats.js';

/** Throughput and latency of one closed-loop measurement. */
export interface LoopMeasurement {
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  readonly failures: number;
}

/** One command of a lane for turnstile `turnstile`, its `step`-th; resolves true when answered ok. */
export type Send = (turnstile: number, step: number) => Promise<boolean>;

/** Run the loop; throws when there are more lanes than turnstiles (lanes would share one). */
export async function closedLoop(send: Send, lanes: number, turnstiles: number, ms: number): Promise<LoopMeasurement> {
  if (lanes > turnstiles) throw new RangeError(`${lanes} lanes would share ${turnstiles} turnstiles and conflict`);
  const latencies: number[] = [];
  let failures = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      const owned = Math.max(1, Math.floor((turnstiles - lane - 1) / lanes) + 1);
      for (let k = 0; elapsedMs(start) < ms; k++) {
        const t = lane + (k % owned) * lanes;
        const began = process.hrtime.bigint();
        const ok = await send(t % turnstiles, Math.floor(k / owned));
        latencies.push(elapsedMs(began));
        if (!ok) failures += 1;
      }
    }),
  );
  const seconds = elapsedMs(start) / 1000;
  const { p50, p99 } = summarizeLatencies(latencies);
  return { rate: latencies.length / seconds, p50, p99, failures };
}

/** Alternate coins and pushes: every command writes an event (a push on a locked turnstile is recorded too). */
export const commandType = (step: number): 'insertCoin' | 'pushArm' => (step % 2 === 0 ? 'insertCoin' : 'pushArm');
