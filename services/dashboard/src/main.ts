import { fileURLToPath } from 'node:url';
import type { App } from '@ratchet/app';
import { loadApp } from '@ratchet/app/load';
import { connectClient } from '@ratchet/client';
import { RatchetError } from '@ratchet/core';
import { createPostgresEventStore, parseMasterKey } from '@ratchet/event-store-postgres';
import { exitWithParent, loadConfig, onShutdown } from '@ratchet/ops';
import pg from 'pg';
import { pino } from 'pino';
import { type DashboardConfig, DashboardConfigSchema } from './dashboard-config.js';
import { startDashboard } from './dashboard-server.js';
import { ReadModel } from './read-model.js';

const boot = pino({ base: { service: 'dashboard' } });
let config: DashboardConfig;
try {
  config = loadConfig(DashboardConfigSchema);
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

const log = pino({ level: config.LOG_LEVEL, base: { service: 'dashboard', pid: process.pid } });
const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 6 });
// A server going away must not crash the dashboard: pg emits an idle client's error on the pool and
// a checked-out client's on the client (see handlePoolErrors in @ratchet/event-store-postgres).
pool.on('connect', (c) => c.on('error', (err) => log.warn({ err }, 'Postgres connection lost')));
pool.on('error', () => undefined);
const client = await connectClient({ servers: config.NATS_URL.split(','), timeoutMs: 10_000 });
const dashboard = await startDashboard({
  port: config.HTTP_PORT,
  host: config.HTTP_HOST,
  readModel: new ReadModel(pool, config.VIEW_SCHEMA, config.STORE_SCHEMA),
  app,
  client,
  log,
  tickMs: config.TICK_MS,
  controlUrl: config.DEMO_CONTROL_URL,
  workerUrls: config.WORKER_URLS,
  distributed: config.DEMO_DISTRIBUTED,
  infrastructure: config.DEMO_INFRASTRUCTURE,
  timeTravel: createPostgresEventStore({
    pool,
    schema: config.STORE_SCHEMA,
    ...(config.RATCHET_MASTER_KEY === undefined ? {} : { masterKey: parseMasterKey(config.RATCHET_MASTER_KEY) }),
  }),
});
log.info(
  { httpPort: dashboard.port, url: `http://${config.HTTP_HOST}:${dashboard.port}/`, app: app.name, file: appFile },
  'dashboard ready',
);

// Launched by the demo or a test harness: do not outlive it.
exitWithParent(log, () => process.kill(process.pid, 'SIGTERM'));
onShutdown(log, async () => {
  await dashboard.close();
  await client.close();
  await pool.end();
});
