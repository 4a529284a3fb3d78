import { connect } from '@nats-io/transport-node';
import { startService } from '@ratchet/app/service';
import { connectClient } from '@ratchet/client';
import { GatewayMetrics, startGateway } from '@ratchet/gateway';
import { exitWithParent, onShutdown, retryAtStart } from '@ratchet/ops';
import { natsConnectOptions } from '@ratchet/transport-nats';
import pg from 'pg';
import { collectDefaultMetrics } from 'prom-client';
import { GatewayConfigSchema } from './gateway-config.js';
import { readYourWrites } from './read-your-writes.js';

const { config, app, appFile, log } = await startService({
  service: 'gateway',
  schema: GatewayConfigSchema,
  defaultApp: () => import.meta.resolve('@ratchet/turnstile-app'),
});
log.info({ app: app.name, file: appFile, aggregates: app.aggregates.map((a) => a.type) }, 'app loaded');
const metrics = new GatewayMetrics();
collectDefaultMetrics({ register: metrics.registry });

const nats = await retryAtStart(
  'connecting to NATS',
  () => connect({ ...natsConnectOptions(config.NATS_URL), name: `ratchet-gateway-${process.pid}`, maxReconnectAttempts: -1 }),
  log,
);
const client = await connectClient({
  connection: nats,
  partitionCount: config.RATCHET_PARTITIONS,
  attemptTimeoutMs: config.GATEWAY_ATTEMPT_TIMEOUT_MS,
  timeoutMs: config.GATEWAY_REQUEST_TIMEOUT_MS,
});
// Postgres only for read-your-writes: the projections' positions in the read-model database.
const pool =
  config.DATABASE_URL === undefined ? undefined : new pg.Pool({ connectionString: config.DATABASE_URL, max: config.PG_POOL_SIZE });
pool?.on('error', (err) => log.warn({ err }, 'idle Postgres client failed'));
const projections = pool === undefined ? undefined : readYourWrites(app, pool, nats, config.GATEWAY_WAIT_FOR_TIMEOUT_MS);

const running = await startGateway({
  port: config.HTTP_PORT,
  host: config.HTTP_HOST,
  client,
  aggregates: app.aggregates,
  ...(projections === undefined ? {} : { projections }),
  maxBodyBytes: config.GATEWAY_MAX_BODY_BYTES,
  maxInFlight: config.GATEWAY_MAX_IN_FLIGHT,
  requestTimeoutMs: config.GATEWAY_REQUEST_TIMEOUT_MS,
  retryAfterSeconds: config.GATEWAY_RETRY_AFTER_SECONDS,
  openApi: { title: `${app.name} command gateway` },
  metrics,
  logger: log,
  healthy: () => !nats.isClosed(),
  ready: () => !nats.isClosed(),
});
log.info(
  {
    httpPort: running.port,
    app: app.name,
    waitFor: projections === undefined ? [] : [...new Set(projections.definitions.map((p) => p.name))],
  },
  'gateway ready',
);

// Launched by the demo or a test harness: do not outlive it.
exitWithParent(log, () => process.kill(process.pid, 'SIGTERM'));
onShutdown(log, async () => {
  // Stop accepting, answer what is in flight (new requests on open connections get 503 UNAVAILABLE).
  const drained = await running.close(config.DRAIN_TIMEOUT_MS);
  if (!drained) log.warn('drain deadline passed with requests still in flight');
  await client.close();
  await nats.drain();
  await pool?.end();
});
