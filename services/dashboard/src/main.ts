import { startService } from '@ratchet/app/service';
import { connectClient } from '@ratchet/client';
import { createPostgresEventStore, parseMasterKey } from '@ratchet/event-store-postgres';
import { exitWithParent, onShutdown } from '@ratchet/ops';
import pg from 'pg';
import { DashboardConfigSchema } from './dashboard-config.js';
import { startDashboard } from './dashboard-server.js';
import { ReadModel } from './read-model.js';

const { config, app, appFile, log } = await startService({
  service: 'dashboard',
  schema: DashboardConfigSchema,
  defaultApp: () => import.meta.resolve('@ratchet/turnstile-app'),
});
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
