import { rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectClient } from '@ratchet/client';
import { startDashboard, ReadModel } from '@ratchet/dashboard';
import { createPglitePool, InProcessNats } from '@ratchet/embedded';
import { createPostgresEventStore, type PostgresEventStore } from '@ratchet/event-store-postgres';
import { createProjector } from '@ratchet/projector';
import { verifyTurnstiles, type Simulator } from '@ratchet/simulator';
import { Turnstile } from '@ratchet/turnstile';
import { defineTurnstileProjection } from '@ratchet/turnstile-projections';
import { createWorker, type Worker } from '@ratchet/worker';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Infrastructure } from './infrastructure.js';
import type { RunDemoContext } from './run-demo.js';
import { demoSummary } from './demo-summary.js';
import { listenLocal } from './control-server.js';
import { ride } from './ride.js';

/** The warning every embedded run logs, and what the page says. */
export const EMBEDDED_WARNING = 'embedded mode: not distributed (PGlite + in-process transport)';

const WORKER_ID = 'embedded-worker';

/** Infrastructure that lives in this process: PGlite as Postgres, an in-process bus as NATS. */
export interface EmbeddedInfrastructure extends Infrastructure {
  readonly distributed: false;
  /** The one-connection pool over PGlite (the event store and the read models share it). */
  readonly pool: pg.Pool;
  /** The bus the worker, the client and the dashboard connect to instead of NATS. */
  readonly bus: InProcessNats;
}

/** Options of {@link startEmbeddedInfrastructure}. */
export interface StartEmbeddedOptions {
  readonly log: Logger;
  /** Why embedded mode was chosen, for the log. */
  readonly reason: string;
  /** PGlite data directory; default in memory (nothing kept after exit). */
  readonly pgliteDir?: string;
  /** Wipe `pgliteDir` first. */
  readonly fresh?: boolean;
}

/** Whether the demo runs embedded (everything in this process). */
export function isEmbedded(infra: Infrastructure): infra is EmbeddedInfrastructure {
  return !infra.distributed && 'pool' in infra && 'bus' in infra;
}

/**
 * Start PGlite and an in-process bus: Ratchet with no NATS and no Postgres, in one process. Not
 * distributed: one worker, no JetStream (the projector follows the store's feed), no failover.
 * @example
 * const infra = await startEmbeddedInfrastructure({ log, reason: 'no binaries' });
 */
export async function startEmbeddedInfrastructure(options: StartEmbeddedOptions): Promise<EmbeddedInfrastructure> {
  const { log } = options;
  log.warn({ reason: options.reason }, EMBEDDED_WARNING);
  if (options.fresh && options.pgliteDir !== undefined) await rm(options.pgliteDir, { recursive: true, force: true });
  const started = Date.now();
  const pool = await createPglitePool(options.pgliteDir);
  log.info({ ms: Date.now() - started, dataDir: options.pgliteDir ?? 'memory' }, 'PGlite started');
  const bus = new InProcessNats();
  return {
    label: `embedded, not distributed: PGlite (${options.pgliteDir ?? 'in memory'}) + in-process transport, one process`,
    distributed: false,
    pool,
    bus,
    async stop() {
      await pool.end();
    },
  };
}

/**
 * The demo in one process: one worker (no relay, static ownership of every partition), the
 * projector following the store's feed, the riders and (unless headless) the dashboard, all on
 * the same PGlite and bus. Headless, prints the same JSON summary as the distributed demo.
 */
export async function runEmbeddedDemo(ctx: RunDemoContext, infra: EmbeddedInfrastructure): Promise<number> {
  const { options, log, signal } = ctx;
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.splice(0).reverse()) {
      await step().catch((error: unknown) => log.warn({ err: error }, 'cleanup step failed'));
    }
  };
  try {
    const { pool, bus } = infra;
    const store = createPostgresEventStore({ pool });
    await store.migrate();
    if (options.workers !== 1) log.info({ asked: options.workers }, 'embedded mode runs one worker: several in one process would share one thread and one connection');

    const worker = createWorker({
      nats: bus.connect('worker'),
      store,
      aggregates: [Turnstile],
      workerId: WORKER_ID,
      relay: false,
      logger: log.child({ component: 'worker' }),
    });
    await worker.start();
    cleanups.push(() => worker.drain(8_000));

    const projector = createProjector({
      source: 'feed',
      store,
      pool,
      projections: [defineTurnstileProjection()],
      logger: log.child({ component: 'projector' }),
    });
    await projector.start();
    cleanups.push(() => projector.stop());
    log.info({ worker: WORKER_ID }, 'embedded worker and projector (feed mode) started');
    if (signal.aborted) return 0;

    const client = await connectClient({ connection: bus.connect('client'), timeoutMs: 20_000 });
    let simulator: Simulator | undefined;

    if (!options.headless) {
      const control = await startEmbeddedControl(worker, store, () => simulator);
      cleanups.push(() => control.close());
      const dashboard = await startDashboard({
        port: options.port,
        readModel: new ReadModel(pool, 'public', store.schema),
        client,
        log: log.child({ component: 'dashboard' }),
        controlUrl: control.url,
        distributed: false,
        infrastructure: infra.label,
      });
      cleanups.push(() => dashboard.close());
      ctx.print(`Ratchet turnstile demo, ${EMBEDDED_WARNING}: 1 worker, a projector, ${options.turnstiles} turnstiles, ${options.riders} riders at ${options.rate || 'max'} commands/s`);
      ctx.print(`Dashboard: http://127.0.0.1:${String(dashboard.port)}/`);
      ctx.print('Ctrl-C stops everything.');
    }

    const sim = await ride({ client, options, log, signal, cleanups, onStart: (s) => (simulator = s) });
    await Promise.race([sim.stop(), sleep(signal.aborted ? 3_000 : 60_000)]);
    if (signal.aborted || !options.headless) return 0;

    const stats = sim.stats();
    log.info('riders stopped; waiting for the projector to catch up, then checking the read model against the event store');
    const check = await verifyTurnstiles({ pool, store, timeoutMs: 60_000 });
    const summary = demoSummary(stats, check, { workers: 1, turnstiles: options.turnstiles, distributed: false });
    if (!check.consistent) log.error({ mismatches: check.mismatches, caughtUp: check.caughtUp }, 'read model differs from the event store');
    await cleanup();
    ctx.print(JSON.stringify(summary));
    return check.consistent ? 0 : 1;
  } finally {
    await cleanup();
  }
}

/**
 * The launcher's control endpoint as the dashboard expects it, for the one in-process worker:
 * `GET /workers` lists it (with this server as its ops port), `GET /cluster` its partitions,
 * `GET /simulator` the riders; adding or killing workers answers 409 (one process).
 */
async function startEmbeddedControl(
  worker: Worker,
  store: PostgresEventStore,
  simulator: () => Simulator | undefined,
): Promise<{ url: string; close(): Promise<void> }> {
  let port = 0;
  const route = async (req: IncomingMessage): Promise<[number, unknown]> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && path === '/workers') return [200, [{ id: WORKER_ID, pid: process.pid, httpPort: port, alive: true, exit: null }]];
    if (req.method === 'GET' && path === '/cluster') {
      const epochs = await store.partitionEpochs();
      return [200, { workerId: WORKER_ID, partitions: epochs, owned: worker.ownedPartitions().map((p) => p.partition) }];
    }
    if (req.method === 'GET' && path === '/simulator') {
      const sim = simulator();
      return [200, sim === undefined ? null : { stats: sim.stats(), seconds: sim.recentSeconds(60), rate: sim.rate }];
    }
    if (req.method === 'POST') return [409, { error: `${EMBEDDED_WARNING}: workers cannot be added or killed` }];
    return [404, { error: 'not found' }];
  };
  const server = createServer((req, res) => {
    route(req).then(
      ([status, body]) => send(res, status, body),
      (error: unknown) => send(res, 500, { error: (error as Error).message }),
    );
  });
  const listening = await listenLocal(server);
  port = listening.port;
  return listening;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
