// JetStream is a cache: the events stream is deleted (while events keep being committed), recreated
// and refilled from Postgres with `republish`; the projector recreates its consumer and ends equal
// to the fold, counting nothing twice.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { FEED_START } from '@ratchet/event-store-postgres';
import { createProjector, republish, type Projector } from '@ratchet/projector';
import { waitFor } from '@ratchet/launchers';
import { EVENTS_STREAM, ensureEventsStream } from '@ratchet/transport-nats';
import { defineTurnstileProjection } from '@ratchet/turnstile-projections';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendTurnstileEvents, diffFromFold, startProjectorTestEnv, type ProjectorTestEnv } from './support.js';

let env: ProjectorTestEnv;
let projector: Projector | undefined;

beforeAll(async () => {
  env = await startProjectorTestEnv('projrepub');
});
afterAll(async () => {
  await projector?.stop();
  await env?.close();
});

async function applied(): Promise<{ positions: number; counted: number; store: number }> {
  const p = await env.pool.query<{ n: string | null }>(
    `SELECT sum(last_version) AS n FROM ratchet_projections.positions WHERE name = 'turnstile'`,
  );
  const c = await env.pool.query<{ n: string | null }>(
    `SELECT sum(events_applied) AS n FROM ratchet_projections.versions WHERE name = 'turnstile'`,
  );
  const s = await env.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ratchet.events`);
  return { positions: Number(p.rows[0]?.n ?? 0), counted: Number(c.rows[0]?.n ?? 0), store: Number(s.rows[0]!.n) };
}

describe('events stream lost and refilled from Postgres', () => {
  it('deleted, recreated, republished: the read model equals the fold', async () => {
    projector = createProjector({
      nats: env.nc,
      store: env.store,
      pool: env.pool,
      projections: [defineTurnstileProjection()],
      batchSize: 100,
      statsIntervalMs: 200,
    });
    await projector.start();
    await projector.whenFollowing('turnstile', 1);
    await appendTurnstileEvents(env.store, { prefix: 'a', turnstiles: 20, count: 800 }).done;
    await waitFor(
      async () => {
        const a = await applied();
        return a.positions === a.store;
      },
      { what: 'first events applied', timeoutMs: 30_000 },
    );

    // Lose the cache: no relay, stream deleted, events committed meanwhile reach nobody.
    await env.worker.drain(5_000);
    const jsm = await jetstreamManager(env.nc);
    await jsm.streams.delete(EVENTS_STREAM);
    await appendTurnstileEvents(env.store, { prefix: 'b', turnstiles: 10, count: 300 }).done;
    await ensureEventsStream(jsm);
    const { published } = await republish(env.store, jetstream(env.nc), FEED_START, { batchSize: 250 });
    const total = (await applied()).store;
    expect(published).toBe(total);

    await waitFor(
      async () => {
        const a = await applied();
        return a.positions === a.store;
      },
      { what: 'republished events applied', timeoutMs: 30_000 },
    );
    // The relay comes back and publishes from its checkpoint too: more duplicates, still nothing twice.
    await env.startWorker();
    await appendTurnstileEvents(env.store, { prefix: 'c', turnstiles: 5, count: 100 }).done;
    await waitFor(
      async () => {
        const a = await applied();
        return a.positions === a.store;
      },
      { what: 'new events after recovery applied', timeoutMs: 30_000 },
    );

    const a = await applied();
    expect(a.counted).toBe(a.store);
    const diff = await diffFromFold(env);
    expect(diff.mismatches).toEqual([]);
    expect(diff.rows).toBe(35);
  }, 90_000);
});
