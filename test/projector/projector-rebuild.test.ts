// Rebuild without downtime: v2 of the turnstile projection is built from the Postgres feed beside
// the live v1 while events keep coming, catches up through JetStream, and takes over the stable
// views in one transaction. A reader loop on the views sees no error at any point.
import { defineTurnstileProjection } from '@ratchet/turnstile-projections';
import { createProjector, type Projector } from '@ratchet/projector';
import { waitFor } from '@ratchet/launchers';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendTurnstileEvents, diffFromFold, startProjectorTestEnv, type ProjectorTestEnv } from './support.js';

let env: ProjectorTestEnv;
const projectors: Projector[] = [];
const stopAll: Array<() => Promise<void>> = [];

beforeAll(async () => {
  env = await startProjectorTestEnv('projrebuild');
});
afterAll(async () => {
  for (const stop of stopAll) await stop();
  await Promise.all(projectors.map((p) => p.stop().catch(() => undefined)));
  await env?.close();
});

function projector(version: 1 | 2, logs?: Array<Record<string, unknown>>): Projector {
  const logger = pino(
    { level: 'info' },
    {
      write: (line: string) => {
        if (process.env.PROJ_DEBUG) process.stderr.write(line);
        logs?.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  const p = createProjector({
    nats: env.nc,
    store: env.store,
    connectionString: env.db.url,
    projections: [defineTurnstileProjection({ version })],
    batchSize: 100,
    logger,
  });
  projectors.push(p);
  return p;
}

describe('rebuild v1 → v2 under load', () => {
  it('keeps the stable views readable throughout and ends with v2 equal to the fold', async () => {
    // History before v2 exists, applied by v1.
    await appendTurnstileEvents(env.store, { prefix: 'old', turnstiles: 40, count: 4_000, lanes: 8 }).done;
    const v1 = projector(1);
    await v1.start();
    await v1.whenFollowing('turnstile', 1);
    expect(await v1.activeVersion('turnstile')).toBe(1);

    // Readers of the stable views, in a tight loop, for the whole rebuild.
    let reads = 0;
    const errors: string[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        try {
          await env.pool.query('SELECT count(*), sum(coins) FROM turnstiles');
          await env.pool.query('SELECT turnstiles, coins FROM turnstile_totals');
          reads += 1;
        } catch (error) {
          errors.push(String(error));
        }
      }
    })();

    const load = appendTurnstileEvents(env.store, {
      prefix: 'live',
      turnstiles: 40,
      count: Number.POSITIVE_INFINITY,
      lanes: 2,
      pauseMs: 5,
    });
    stopAll.push(async () => {
      reading = false;
      await reader;
      await load.stop();
    });
    const logs: Array<Record<string, unknown>> = [];
    const v2 = projector(2, logs);
    await v2.start();
    await waitFor(async () => (await v2.activeVersion('turnstile')) === 2, { what: 'the switch to v2', timeoutMs: 60_000 });
    const appendedAtSwitch = load.appended();
    // Keep writing after the switch: v2 now follows JetStream.
    await waitFor(async () => load.appended() > appendedAtSwitch + 200, { what: 'more events after the switch', timeoutMs: 30_000 });
    await load.stop();

    const count = Number((await env.pool.query<{ n: string }>('SELECT count(*) AS n FROM ratchet.events')).rows[0]!.n);
    await waitFor(
      async () => {
        const r = await env.pool.query<{ version: number; n: string }>(
          `SELECT version, sum(last_version) AS n FROM ratchet_projections.positions WHERE name = 'turnstile' GROUP BY version`,
        );
        return r.rows.length === 2 && r.rows.every((x) => Number(x.n) === count);
      },
      { what: 'v1 and v2 caught up', timeoutMs: 30_000 },
    );
    reading = false;
    await reader;

    expect(errors).toEqual([]);
    expect(reads).toBeGreaterThan(10);
    // The stable view now shows v2 (its extra column) and equals the fold.
    const columns = (await env.pool.query('SELECT * FROM turnstiles LIMIT 1')).fields.map((f) => f.name);
    expect(columns).toContain('last_event_type');
    const diff = await diffFromFold(env);
    expect(diff.mismatches).toEqual([]);
    expect(diff.rows).toBe(80);
    // v1's tables are kept until dropOld, and were kept current.
    const v1Diff = await diffFromFold(
      env,
      'ratchet_projections.proj_turnstiles_v1',
      'ratchet_projections.proj_turnstile_totals_v1',
      'ratchet_projections.proj_turnstile_commands_per_second_v1',
    );
    expect(v1Diff.mismatches).toEqual([]);
    // Progress was reported while building.
    expect(logs.some((l) => l.msg === 'rebuild progress' && typeof l.total === 'number')).toBe(true);
    expect(logs.some((l) => l.msg === 'projection switched: readers now see this version')).toBe(true);
    expect(await v2.metrics.registry.getSingleMetricAsString('ratchet_projection_rebuild_done_events')).toMatch(/turnstile@v2"} [1-9]/);

    // dropOld removes v1's tables and registry rows, never the active version.
    await expect(v2.dropOld('turnstile', 2)).rejects.toThrow(/active/);
    await v1.stop();
    projectors.splice(projectors.indexOf(v1), 1);
    expect(await v2.dropOld('turnstile')).toEqual([1]);
    const left = await env.pool.query(`SELECT 1 FROM pg_tables WHERE schemaname = 'ratchet_projections' AND tablename LIKE '%_v1'`);
    expect(left.rowCount).toBe(0);
    expect((await env.pool.query('SELECT count(*) FROM turnstiles')).rows[0]).toEqual({ count: '80' });
  }, 180_000);
});
