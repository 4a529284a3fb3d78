import { setTimeout as sleep } from 'node:timers/promises';
import type { RatchetClient } from '@ratchet/client';
import { createSimulator, type Simulator } from '@ratchet/simulator';
import type { Logger } from 'pino';
import type { DemoOptions } from './demo-options.js';
import type { Cleanups } from './infrastructure.js';

/** What {@link ride} needs from the demo that runs it. */
export interface RideContext {
  readonly client: RatchetClient;
  readonly options: DemoOptions;
  readonly log: Logger;
  /** Ctrl-C / SIGTERM: ends the ride early. */
  readonly signal: AbortSignal;
  /** The demo's teardown steps; the ride adds stopping the riders. */
  readonly cleanups: Cleanups;
  /** Called once the riders started (e.g. so the dashboard's control server can reach them). */
  readonly onStart?: (simulator: Simulator) => void;
}

/**
 * Start the riders, log progress every 5 s, and return once the demo's duration has passed (20 s
 * headless, else until Ctrl-C) or the signal aborted. The riders are still running: the caller
 * stops them as its ending requires.
 */
export async function ride(ctx: RideContext): Promise<Simulator> {
  const { client, options, log, signal, cleanups } = ctx;
  // Technicians complete the visits the turnstile app's technician dispatch calls them to (some escalate first).
  const sim = createSimulator({
    client,
    turnstiles: options.turnstiles,
    riders: options.riders,
    rate: options.rate,
    skew: options.skew,
    technicianEveryMs: 1_500,
  });
  sim.start();
  ctx.onStart?.(sim);
  cleanups.push(() => Promise.race([sim.stop(), sleep(3_000)]));
  const duration = options.duration ?? (options.headless ? 20 : undefined);
  log.info(
    {
      durationS: duration ?? 'until Ctrl-C',
      turnstiles: options.turnstiles,
      riders: options.riders,
      rate: options.rate,
      skew: options.skew,
    },
    'riders started',
  );
  const progress = setInterval(() => {
    const s = sim.stats();
    // The run's p99 hides when a spike happened: the worst second of the last five shows it.
    const worstRecentP99Ms = Math.max(0, ...sim.recentSeconds(5).map((b) => b.p99Ms));
    log.info(
      {
        sent: s.sent,
        ok: s.ok,
        rejected: s.rejected,
        failed: s.failed,
        throughput: s.throughput,
        p50Ms: s.p50Ms,
        p99Ms: s.p99Ms,
        worstRecentP99Ms,
      },
      'progress',
    );
  }, 5_000);
  try {
    await sleep(duration === undefined ? 2 ** 31 - 1 : duration * 1_000, undefined, { signal }).catch(() => undefined);
  } finally {
    clearInterval(progress);
  }
  return sim;
}
