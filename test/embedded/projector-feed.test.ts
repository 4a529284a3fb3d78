// The projector in feed mode on PGlite (no NATS at all): it builds the turnstile read model from the
// event store's feed, keeps following it, and after a stop and restart resumes from the checkpoint
// it committed with the read model: every event applied once, the read model equal to the fold.
import { createPglitePool } from '@ratchet/embedded';
import { createPostgresEventStore, type PostgresEventStore } from '@ratchet/event-store-postgres';
import { createProjector, type Projector } from '@ratchet/projector';
import { verifyTurnstiles } from '@ratchet/simulator';
import { defineTurnstileProjection } from '@ratchet/turnstile-projections';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let pool: pg.Pool;
let store: PostgresEventStore;
let projector: Projector | undefined;

const start = async (): Promise<Projector> => {
  const p = createProjector({
    source: 'feed',
    store,
    pool,
    projections: [defineTurnstileProjection()],
    feedPollIntervalMs: 5,
    batchSize: 50,
  });
  await p.start();
  return p;
};

/** Turnstile i gets installed, then `rounds` coin-and-push rounds; returns the events written. */
async function ride(from: number, to: number, rounds: number): Promise<number> {
  let n = 0;
  for (let i = from; i < to; i += 1) {
    const id = `turnstile/f-${i}`;
    let version = await store.streamVersion(id);
    if (version === 0) version = (await store.append(id, 0, [{ type: 'installed', data: {} }])).version;
    for (let r = 0; r < rounds; r += 1) {
      version = (
        await store.append(id, version, [
          { type: 'coinInserted', data: {} },
          { type: 'armTurned', data: {} },
        ])
      ).version;
      n += 2;
    }
  }
  return n;
}

beforeAll(async () => {
  pool = await createPglitePool();
  store = createPostgresEventStore({ pool });
  await store.migrate();
}, 120_000);

afterAll(async () => {
  await projector?.stop();
  await pool?.end();
});

describe('projector, source: feed (embedded)', () => {
  it('builds, follows, and resumes after a restart with the read model equal to the fold', { timeout: 120_000 }, async () => {
    await ride(0, 20, 2); // before the projector exists: the build reads these
    projector = await start();
    await projector.whenFollowing('turnstile', 1);
    await ride(20, 40, 1); // while it follows
    const first = await verifyTurnstiles({ pool, store, timeoutMs: 30_000 });
    expect(first).toMatchObject({ consistent: true, caughtUp: true });
    expect(first.projection.turnstiles).toBe(40);

    await projector.stop();
    projector = undefined;
    await ride(0, 40, 1); // while it is down
    projector = await start();
    const second = await verifyTurnstiles({ pool, store, timeoutMs: 30_000 });
    expect(second).toMatchObject({ consistent: true, caughtUp: true });
    expect(second.projection).toEqual({ turnstiles: 40, coins: 20 * 3 + 20 * 2, turns: 20 * 3 + 20 * 2, pushes: 20 * 3 + 20 * 2 });
    expect(projector.status()).toEqual([{ projection: 'turnstile@v1', phase: 'following', lagEvents: expect.any(Number) }]);
  });
});
