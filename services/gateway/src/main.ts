import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import type { App } from '@ratchet/app';
import { loadApp } from '@ratchet/app/load';
import { connectClient } from '@ratchet/client';
import { RatchetError } from '@ratchet/core';
import { GatewayMetrics, startGateway } from '@ratchet/gateway';
import { exitWithParent, loadConfig, onShutdown, retryAtStart } from '@ratchet/ops';
import { natsConnectOptions } from '@ratchet/transport-nats';
import pg from 'pg';
import { pino } from 'pino';
import { collectDefaultMetrics } from 'prom-client';
import { type GatewayConfig, GatewayConfigSchema } from './gateway-config.js';
import { readYourWrites } from './read-your-writes.js';

const boot = pino({ base: { service: 'gateway' } });
let config: GatewayConfig;
try {
  config = loadConfig(GatewayConfigSchema);
} catch (error) {
  boot.fatal({ err: error instanceof RatchetError ? error.toJSON() : error }, 'invalid configuration');
  process.exit(2);
}

// The app: `main.ts <path>`, else RATCHET_APP, else the turnstile app (src in development, dist when built).
const appPath = process.argv[2] ?? config.RATCHET_APP ?? fileURLToPath(import.meta.resolve('@ratchet/turnstile-app'));
let app: App;
let appFile: string;
try {
  ({ app, file: appFile } = await loadApp(appPath));
} catch (error) {
  if (error instanceof RatchetError) boot.fatal({ code: error.code, ...error.details }, error.message);
  else boot.fatal({ err: error }, `app module ${appPath}: ${String(error)}`);
  process.exit(2);
}

const log = pino({ level: config.LOG_LEVEL, base: { service: 'gateway', pid: process.pid } });
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
