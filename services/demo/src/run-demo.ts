import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyTurnstiles, type Simulator } from '@ratchet/simulator';
import type { Logger } from 'pino';
import type { DemoOptions } from './demo-options.js';
import { demoSummary } from './demo-summary.js';
import type { Cleanups } from './infrastructure.js';
import { pickInfrastructure } from './pick-infrastructure.js';
import { ride } from './ride.js';

/** What the demo needs from its caller. */
export interface RunDemoContext {
  readonly options: DemoOptions;
  /** The repo root. */
  readonly root: string;
  readonly log: Logger;
  /** Aborted on SIGINT/SIGTERM: the demo stops its riders and everything it started. */
  readonly signal: AbortSignal;
  /** Where the human lines (dashboard URL) and the headless JSON line go. */
  readonly print: (line: string) => void;
}

/**
 * Run the turnstile demo on whatever infrastructure {@link pickInfrastructure} finds (servers, or
 * embedded in this process): workers, projector, dashboard (unless headless) and riders, until the
 * duration passes or the signal aborts; then stop everything it started. Headless, print one JSON
 * summary line (with the read-model check) and resolve with the exit code.
 */
export async function runDemo(ctx: RunDemoContext): Promise<number> {
  const { options, log, signal } = ctx;
  const dataDir = join(ctx.root, '.data');
  const logDir = join(dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const cleanups: Cleanups = [];
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.splice(0).reverse()) {
      await step().catch((error: unknown) => log.warn({ err: error }, 'cleanup step failed'));
    }
  };
  try {
    const infra = await pickInfrastructure({ root: ctx.root, dataDir, logDir, fresh: options.fresh, log, signal });
    cleanups.push(() => infra.stop());
    log.info({ infrastructure: infra.label }, 'infrastructure');
    if (signal.aborted) return 0;
    // Migrate once here so the workers do not all race to it.
    await infra.store.migrate();
    const workers = await infra.startServices(options.workers, cleanups);
    if (signal.aborted) return 0;

    const client = await infra.connectClient();
    cleanups.push(() => client.close());
    let simulator: Simulator | undefined;
    if (!options.headless) {
      const port = await infra.startDashboard({ port: options.port, client, simulator: () => simulator }, cleanups);
      const name = `Ratchet turnstile demo${infra.warning === undefined ? '' : `, ${infra.warning}`}`;
      ctx.print(`${name}: ${workers === 1 ? '1 worker' : `${workers} workers`}, a projector, ${options.turnstiles} turnstiles, ${options.riders} riders at ${options.rate || 'max'} commands/s`);
      ctx.print(`Dashboard: http://127.0.0.1:${String(port)}/`);
      ctx.print(`${infra.logDir === undefined ? '' : `Logs: ${infra.logDir}. `}Ctrl-C stops everything.`);
    }

    const sim = await ride({ client, options, log, signal, cleanups, onStart: (s) => (simulator = s) });
    // After a Ctrl-C, commands in flight may never be answered (the terminal's signal also reaches
    // servers the demo started): give them a moment, then closing the client ends them.
    await Promise.race([sim.stop(), sleep(signal.aborted ? 3_000 : 60_000)]);
    if (signal.aborted || !options.headless) return 0;

    const stats = sim.stats();
    log.info('riders stopped; waiting for the projector to catch up, then checking the read model against the event store');
    const check = await verifyTurnstiles({ pool: infra.pool, store: infra.store, timeoutMs: 60_000 });
    const summary = demoSummary(stats, check, { workers, turnstiles: options.turnstiles, distributed: infra.distributed });
    if (!check.consistent) log.error({ mismatches: check.mismatches, caughtUp: check.caughtUp }, 'read model differs from the event store');
    await cleanup();
    ctx.print(JSON.stringify(summary));
    return check.consistent ? 0 : 1;
  } finally {
    await cleanup();
  }
}
