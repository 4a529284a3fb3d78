import { connect } from '@nats-io/transport-node';
import { connectClient } from '@ratchet/client';
import { startService } from '@ratchet/app/service';
import { createPostgresEventStore, handlePoolErrors, parseMasterKey } from '@ratchet/event-store-postgres';
import { exitWithParent, onShutdown, retryAtStart, startOpsServer } from '@ratchet/ops';
import { createProcessRunner, ProcessMetrics } from '@ratchet/process/runner';
import { ProjectorMetrics, createProjector } from '@ratchet/projector';
import { natsConnectOptions } from '@ratchet/transport-nats';
import pg from 'pg';
import { collectDefaultMetrics } from 'prom-client';
import { ProjectorConfigSchema } from './projector-config.js';

const { config, app, appFile, log, fatal } = await startService({
  service: 'projector',
  schema: ProjectorConfigSchema,
  defaultApp: () => import.meta.resolve('@ratchet/turnstile-app'),
});
const projections = config.PROJECTOR_PROJECTIONS ? app.projections : [];
const processes = config.PROJECTOR_PROCESSES ? app.processes : [];
if (projections.length === 0 && processes.length === 0) {
  const what =
    app.projections.length + app.processes.length === 0
      ? 'defines no projections and no processes'
      : 'has nothing left to run with PROJECTOR_PROJECTIONS and PROJECTOR_PROCESSES as set';
  fatal({ file: appFile, app: app.name }, `app module ${appFile}: app "${app.name}" ${what}, so there is nothing for a projector to run`);
}

log.info(
  { app: app.name, file: appFile, projections: projections.map((p) => p.key), processes: processes.map((p) => p.name) },
  'app loaded',
);
const metrics = new ProjectorMetrics();
collectDefaultMetrics({ register: metrics.registry });
const processMetrics = new ProcessMetrics(metrics.registry);

const nats = await retryAtStart(
  'connecting to NATS',
  () => connect({ ...natsConnectOptions(config.NATS_URL), name: `ratchet-projector-${process.pid}`, maxReconnectAttempts: -1 }),
  log,
);
const pool = handlePoolErrors(new pg.Pool({ connectionString: config.DATABASE_URL, max: config.PG_POOL_SIZE }), (err) =>
  log.warn({ err }, 'Postgres connection lost'),
);
const store = createPostgresEventStore({
  pool,
  ...(config.RATCHET_MASTER_KEY === undefined ? {} : { masterKey: parseMasterKey(config.RATCHET_MASTER_KEY) }),
});
await retryAtStart('migrating the event store', () => store.migrate(), log);

const projector =
  projections.length === 0
    ? undefined
    : createProjector({
        nats,
        store,
        pool,
        projections,
        batchSize: config.PROJECTOR_BATCH_SIZE,
        maxBatchSize: config.PROJECTOR_MAX_BATCH_SIZE,
        maxAttempts: config.PROJECTOR_MAX_ATTEMPTS,
        ackWaitMs: config.PROJECTOR_ACK_WAIT_MS,
        autoSwitch: config.PROJECTOR_AUTO_SWITCH,
        logger: log,
        metrics,
      });
await projector?.start();

// Process managers send their commands through a client on the same connection.
const client = await connectClient({
  connection: nats,
  partitionCount: config.RATCHET_PARTITIONS,
  timeoutMs: config.PROCESS_SEND_TIMEOUT_MS,
});
const runner =
  processes.length === 0
    ? undefined
    : createProcessRunner({
        nats,
        client,
        store,
        pool,
        processes,
        batchSize: config.PROCESS_BATCH_SIZE,
        ackWaitMs: config.PROJECTOR_ACK_WAIT_MS,
        send: { maxSends: config.PROCESS_MAX_SENDS, sendTimeoutMs: config.PROCESS_SEND_TIMEOUT_MS },
        unansweredRetryMs: config.PROCESS_UNANSWERED_RETRY_MS,
        logger: log,
        metrics: processMetrics,
      });
await runner?.start();

const ops = await startOpsServer({
  port: config.HTTP_PORT,
  healthy: () => !nats.isClosed(),
  ready: () => (projector?.ready ?? true) && (runner?.ready ?? true) && !nats.isClosed(),
  registry: metrics.registry,
  routes: {
    // Projection versions, then process managers (`process` instead of `projection`), each with its phase and lag.
    '/status': () => [...(projector?.status() ?? []), ...(runner?.status() ?? [])],
    '/parked': async () => [...((await projector?.listParked()) ?? []), ...((await runner?.listParked()) ?? [])],
  },
});
log.info(
  {
    httpPort: ops.port,
    app: app.name,
    projections: projector?.status().map((s) => s.projection) ?? [],
    processes: runner?.status().map((s) => s.process) ?? [],
  },
  'projector ready',
);

// Launched by the demo or a test harness: do not outlive it.
exitWithParent(log, () => process.kill(process.pid, 'SIGTERM'));
onShutdown(log, async () => {
  // Stop pulling, finish and commit the batch in hand, ack it; the rest is redelivered. A process
  // batch past the deadline stops sending and rolls back: its events run again, with the same ids.
  const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), config.DRAIN_TIMEOUT_MS).unref());
  const drained = Promise.all([projector?.stop(), runner?.stop(config.DRAIN_TIMEOUT_MS)]).then(() => 'done' as const);
  if ((await Promise.race([drained, deadline])) === 'timeout') {
    log.warn('drain deadline passed with a batch in flight; it will be redelivered');
  }
  await ops.close();
  await nats.drain();
  await pool.end();
});
