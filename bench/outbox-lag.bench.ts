/**
 * Commit-to-read-model lag under load: client → worker process (group commit, outbox relay →
 * JetStream) → projector (in this process) → turnstile read model. For a sample of acknowledged
 * commands, the time from the reply (the commit) until the projection has applied that version.
 * Run: node --conditions=source --import tsx bench/outbox-lag.bench.ts [--seconds N] [--concurrency N]
 * Uses DATABASE_URL for a scratch database and a private nats-server.
 */
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { connectClient } from '@ratchet/client';
import { createPostgresEventStore } from '@ratchet/event-store-postgres';
import { createProjector } from '@ratchet/projector';
import { startNatsServer, startServiceProcess } from '@ratchet/testing';
import { Turnstile } from '@ratchet/turnstile';
import { defineTurnstileProjection } from '@ratchet/turnstile-projections';
import pg from 'pg';
import { createScratchDatabase } from './scratch-database.js';
import { percentile } from './stats.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, concurrency: { type: 'string', default: '64' } } });
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);

const db = await createScratchDatabase('lag');
const natsServer = await startNatsServer();
const worker = await startServiceProcess({
  entry: 'services/worker/src/main.ts',
  env: { NATS_URL: natsServer.url, DATABASE_URL: db.url, HTTP_PORT: '0', LOG_LEVEL: 'info', CLUSTER_MODE: 'static' },
});
const nc = await connect({ servers: natsServer.url });
const store = createPostgresEventStore({ connectionString: db.url });
const pool = new pg.Pool({ connectionString: db.url, max: 4 });
const projector = createProjector({ nats: nc, store, pool, projections: [defineTurnstileProjection()] });
const client = await connectClient({ servers: natsServer.url, timeoutMs: 30_000 });
try {
  await projector.start();
  const ids = Array.from({ length: 2_000 }, (_, i) => `lag-${i}`);
  for (let i = 0; i < ids.length; i += 200) {
    await Promise.all(ids.slice(i, i + 200).map((id) => client.send(Turnstile, id, { type: 'install', payload: {} })));
  }
  const lags: number[] = [];
  const waits: Array<Promise<void>> = [];
  let sent = 0;
  let running = true;
  const until = Date.now() + seconds * 1_000;
  const lane = async (n: number): Promise<void> => {
    for (let k = n; running; k += concurrency) {
      const id = ids[k % ids.length]!;
      const r = await client.send(Turnstile, id, { type: k % 2 === 0 ? 'insertCoin' : 'pushArm', payload: {} });
      sent += 1;
      // Sample every 10th acknowledged command: wait for the read model to reach its version.
      if (r.status === 'ok' && sent % 10 === 0) {
        const committedAt = performance.now();
        waits.push(
          projector.waitFor('turnstile', `turnstile/${id}`, r.version, 30_000).then(() => {
            lags.push(performance.now() - committedAt);
          }),
        );
      }
      if (Date.now() >= until) running = false;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, n) => lane(n)));
  await Promise.allSettled(waits);
  lags.sort((a, b) => a - b);
  const figures = [
    { name: `commit-to-read-model lag p50, ${concurrency} in flight`, value: percentile(lags, 50, true), unit: 'ms' },
    { name: `commit-to-read-model lag p99, ${concurrency} in flight`, value: percentile(lags, 99, true), unit: 'ms' },
    { name: `commands/s during the lag run, ${concurrency} in flight`, value: sent / seconds, unit: 'cmd/s' },
    { name: 'lag samples', value: lags.length, unit: 'samples' },
  ];
  for (const f of figures) console.log(JSON.stringify({ ...f, value: Math.round(f.value * 100) / 100, baseline: null, ratio: null }));
} finally {
  await client.close();
  await projector.stop();
  await pool.end();
  await store.close();
  await nc.close();
  await worker.stop();
  await natsServer.stop();
  await db.drop();
}
