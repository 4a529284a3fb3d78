// The projector process killed with SIGKILL mid-batch (before its commit, between commit and ack,
// and at random under load), restarted: the read model equals the fold of the event store.
import { jetstreamManager } from '@nats-io/jetstream';
import { startServiceProcess, waitFor, type ServiceProcess } from '@ratchet/launchers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { appendTurnstileEvents, diffFromFold, startProjectorTestEnv, type ProjectorTestEnv } from './support.js';

const PROJECTOR = 'services/projector/src/main.ts';
let env: ProjectorTestEnv;
const processes: ServiceProcess[] = [];

beforeAll(async () => {
  env = await startProjectorTestEnv('projcrash');
});
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop(5_000)));
});
afterAll(async () => {
  await env?.close();
});

async function startProjector(extra: Record<string, string> = {}): Promise<ServiceProcess> {
  const p = await startServiceProcess({
    entry: PROJECTOR,
    readyMessage: 'projector ready',
    env: {
      NATS_URL: env.nats.url,
      DATABASE_URL: env.db.url,
      HTTP_PORT: '0',
      LOG_LEVEL: 'info',
      PROJECTOR_BATCH_SIZE: '50',
      PROJECTOR_ACK_WAIT_MS: '1000',
      RATCHET_CRASH_POINT: '',
      ...extra,
    },
  });
  processes.push(p);
  return p;
}

async function storeEventCount(): Promise<number> {
  const r = await env.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ratchet.events`);
  return Number(r.rows[0]!.n);
}

/** Every event of the store applied (positions sum to the store's event count) and JetStream acked. */
async function caughtUp(): Promise<boolean> {
  const want = await storeEventCount();
  const r = await env.pool.query<{ n: string | null }>(
    `SELECT sum(last_version) AS n FROM ratchet_projections.positions WHERE name = 'turnstile' AND version = 1`,
  );
  if (Number(r.rows[0]?.n ?? 0) !== want) return false;
  const info = await (await jetstreamManager(env.nc)).consumers.info('RATCHET_EVENTS', 'proj_turnstile_v1');
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

describe('projector crash and restart', () => {
  it.each([
    ['projector-before-commit', 3],
    ['projector-after-commit-before-ack', 3],
  ])(
    'SIGKILL at %s (hit %i), restart: read model equals the fold',
    async (point, after) => {
      const p = await startProjector({ RATCHET_CRASH_POINT: point, RATCHET_CRASH_AFTER: String(after) });
      const load = appendTurnstileEvents(env.store, { prefix: `c-${point}`, turnstiles: 20, count: 600 });
      const exit = await p.exited;
      expect(exit).toBe('SIGKILL');
      await load.done;
      const before = await diffFromFold(env);
      // Died mid-way: the read model is behind (proves the crash point was hit under load).
      expect(before.mismatches.length).toBeGreaterThan(0);
      await startProjector();
      await waitFor(caughtUp, { what: 'projector caught up', timeoutMs: 30_000 });
      const after2 = await diffFromFold(env);
      expect(after2.mismatches).toEqual([]);
      expect(after2.rows).toBe(after2.streams);
    },
    120_000,
  );

  it('SIGKILL at random moments under load, then SIGTERM drain exits 0: read model equals the fold', async () => {
    // Until the kills are done: a fixed count can all be applied before the last restart, which then has nothing to apply.
    const load = appendTurnstileEvents(env.store, { prefix: 'rnd', turnstiles: 30, count: Number.POSITIVE_INFINITY, pauseMs: 2 });
    for (let i = 0; i < 3; i += 1) {
      const p = await startProjector();
      const seen = await env.pool.query<{ n: string | null }>(`SELECT sum(events_applied) AS n FROM ratchet_projections.versions`);
      await waitFor(
        async () => {
          const r = await env.pool.query<{ n: string | null }>(`SELECT sum(events_applied) AS n FROM ratchet_projections.versions`);
          return Number(r.rows[0]?.n ?? 0) > Number(seen.rows[0]?.n ?? 0) + 100;
        },
        { what: 'the projector applying events', timeoutMs: 30_000 },
      );
      p.kill('SIGKILL');
      expect(await p.exited).toBe('SIGKILL');
    }
    await load.stop();
    const p = await startProjector();
    await waitFor(caughtUp, { what: 'projector caught up', timeoutMs: 30_000 });
    const diff = await diffFromFold(env);
    expect(diff.mismatches).toEqual([]);
    expect(diff.streams).toBeGreaterThan(30);
    expect(await p.stop(10_000)).toBe(0);
    expect(p.logs.some((l) => l.msg === 'drained; exiting')).toBe(true);
  }, 180_000);
});
