// The bookstore's page as a process: `node --conditions=source --import tsx examples/bookstore/web.ts`
// (or `npm run web -w @ratchet/example-bookstore`). It needs the gateway and the read models of a
// running worker, projector and gateway loaded with RATCHET_APP=examples/bookstore/src/app.ts.
// Variables: DATABASE_URL (required), GATEWAY_URL (http://127.0.0.1:8082), HTTP_PORT (8088),
// HTTP_HOST (127.0.0.1), GATEWAY_TIMEOUT_MS (10000), LOG_LEVEL (info), PG_POOL_SIZE (4). DATABASE_URL's role
// must be allowed to run ratchet.forget_subject for "forget me" (docs/sensitive-data.md).
// Logs {"msg":"bookstore web ready","httpPort":…,"url":…} when it serves; drains on SIGTERM.
import { RatchetError } from '@ratchet/core';
import { createPostgresEventStore } from '@ratchet/event-store-postgres';
import { exitWithParent, loadConfig, onShutdown } from '@ratchet/ops';
import pg from 'pg';
import { pino } from 'pino';
import { BookstoreReadModels, createGatewaySender, startBookstoreWeb, type WebConfig, WebConfigSchema } from './src/index.js';

const boot = pino({ base: { service: 'bookstore-web' } });
let config: WebConfig;
try {
  config = loadConfig(WebConfigSchema);
} catch (error) {
  boot.fatal({ err: error instanceof RatchetError ? error.toJSON() : error }, 'invalid configuration');
  process.exit(2);
}

const log = pino({ level: config.LOG_LEVEL, base: { service: 'bookstore-web', pid: process.pid } });
const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: config.PG_POOL_SIZE });
pool.on('error', (err) => log.warn({ err }, 'idle Postgres client failed'));
const web = await startBookstoreWeb({
  port: config.HTTP_PORT,
  host: config.HTTP_HOST,
  sender: createGatewaySender({ url: config.GATEWAY_URL, timeoutMs: config.GATEWAY_TIMEOUT_MS }),
  readModels: new BookstoreReadModels(pool),
  // "Forget me" deletes the author's key in the event store (here the read models' database too).
  forgetter: createPostgresEventStore({ pool }).cipher,
  logger: log,
});
log.info({ httpPort: web.port, url: web.url, gateway: config.GATEWAY_URL }, 'bookstore web ready');

exitWithParent(log, () => process.kill(process.pid, 'SIGTERM'));
onShutdown(log, async () => {
  await web.close();
  await pool.end();
});
