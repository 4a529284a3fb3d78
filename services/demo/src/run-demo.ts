import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectClient, type RatchetClient } from '@ratchet/client';
import { createPostgresEventStore } from '@ratchet/event-store-postgres';
import { verifyTurnstiles, type Simulator } from '@ratchet/simulator';
import pg from 'pg';
import type { Logger } from 'pino';
import { startControlServer, type ControlServer } from './control-server.js';
import { DemoCluster } from './demo-cluster.js';
import type { DemoOptions } from './demo-options.js';
import { isEmbedded, runEmbeddedDemo } from './embedded-infrastructure.js';
import { pickInfrastructure, type Infrastructure } from './infrastructure.js';
import { demoSummary } from './demo-summary.js';
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
 * Run the turnstile demo: servers, workers, projector, dashboard (unless headless) and riders, until
 * the duration passes or the signal aborts; then stop everything it started. Headless, print one
 * JSON summary line (with the read-model check) and resolve with the exit code.
 */
export async function runDemo(ctx: RunDemoContext): Promise<number> {
  const { options, log, signal } = ctx;
  const dataDir = join(ctx.root, '.data');
  const logDir = join(dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.reverse()) {
      await step().catch((error: unknown) => log.warn({ err: error }, 'cleanup step failed'));
    }
  };
  try {
    const infra: Infrastructure = await pickInfrastructure({ dataDir, fresh: options.fresh, log });
    cleanups.push(() => infra.stop());
    log.info({ infrastructure: infra.label }, 'infrastructure');
    if (isEmbedded(infra)) return await runEmbeddedDemo(ctx, infra);
    if (infra.natsUrl === undefined || infra.databaseUrl === undefined) throw new Error(`no NATS or Postgres URL in ${infra.label}`);
    if (signal.aborted) return 0;

    // Migrate once here so the workers do not all race to it, and keep a store for the check.
    const pool = new pg.Pool({ connectionString: infra.databaseUrl, max: 20 });
    let poolEnded = false;
    pool.on('error', (err) => {
      if (!poolEnded) log.warn({ err }, 'idle Postgres client failed');
    });
    cleanups.push(() => ((poolEnded = true), pool.end()));
    const store = createPostgresEventStore({ pool });
    await store.migrate();

    const cluster = new DemoCluster({ root: ctx.root, logDir, natsUrl: infra.natsUrl, databaseUrl: infra.databaseUrl, log });
    // Killing by pid on a second signal; the orderly stop drains.
    const onHardStop = (): void => cluster.killAll();
    signal.addEventListener('abort', () => process.once('SIGINT', onHardStop).once('SIGTERM', onHardStop), { once: true });
    cleanups.push(() => cluster.stop(signal.aborted ? 4_000 : 15_000));
    log.info({ workers: options.workers, logs: logDir }, 'starting workers and the projector');
    await Promise.all([
      ...Array.from({ length: options.workers }, () => cluster.addWorker()),
      cluster.startProjector(),
    ]);
    if (signal.aborted) return 0;

    const client: RatchetClient = await connectClient({ servers: infra.natsUrl.split(','), timeoutMs: 20_000 });
    cleanups.push(() => client.close());
    let simulator: Simulator | undefined;

    if (!options.headless) {
      const control: ControlServer = await startControlServer(cluster, () => simulator);
      cleanups.push(() => control.close());
      const dashboard = await cluster.startDashboard({
        HTTP_PORT: String(options.port),
        DEMO_CONTROL_URL: control.url,
        DEMO_DISTRIBUTED: String(infra.distributed),
        DEMO_INFRASTRUCTURE: infra.label,
      });
      ctx.print(`Ratchet turnstile demo: ${options.workers} workers, a projector, ${options.turnstiles} turnstiles, ${options.riders} riders at ${options.rate || 'max'} commands/s`);
      ctx.print(`Dashboard: http://127.0.0.1:${String(dashboard.ready['httpPort'])}/`);
      ctx.print(`Logs: ${logDir}. Ctrl-C stops everything.`);
    }

    const sim = await ride({ client, options, log, signal, cleanups, onStart: (s) => (simulator = s) });
    if (signal.aborted) {
      // A Ctrl-C in a terminal also reaches the servers the demo started (same process group), so
      // commands in flight may never be answered: give them a moment, then closing the client ends them.
      await Promise.race([sim.stop(), sleep(3_000)]);
      return 0;
    }
    await sim.stop();
    if (!options.headless) return 0;

    const stats = sim.stats();
    log.info('riders stopped; waiting for the projector to catch up, then checking the read model against the event store');
    const check = await verifyTurnstiles({ pool, store, timeoutMs: 60_000 });
    const summary = demoSummary(stats, check, { workers: options.workers, turnstiles: options.turnstiles });
    if (!check.consistent) log.error({ mismatches: check.mismatches, caughtUp: check.caughtUp }, 'read model differs from the event store');
    await cleanup();
    cleanups.length = 0;
    ctx.print(JSON.stringify(summary));
    return check.consistent ? 0 : 1;
  } finally {
    await cleanup();
  }
}
