// The dashboard's time-travel view (a fresh database, the dashboard in this process): its API gives
// a turnstile's state at each version as loadAt does, refuses versions outside the stream with
// OUT_OF_RANGE, and in headless Chromium dragging the slider over the versions shows the statechart
// state and the counters at each.
import { fileURLToPath } from 'node:url';
import { defineApp } from '@ratchet/app';
import { startDashboard, ReadModel, type Dashboard } from '@ratchet/dashboard';
import { createPostgresEventStore, type PostgresEventStore } from '@ratchet/event-store-postgres';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { Turnstile } from '@ratchet/turnstile';
import pg from 'pg';
import { pino } from 'pino';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const screenshots = fileURLToPath(new URL('./screenshots/', import.meta.url));
const HISTORY = ['installed', 'coinInserted', 'armTurned', 'armPushedIneffectively', 'coinInserted', 'coinInserted', 'armTurned'];

let db: TestDatabase;
let pool: pg.Pool;
let store: PostgresEventStore;
let dashboard: Dashboard;
let base: string;

beforeAll(async () => {
  db = await createTestDatabase('time_travel');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  store = createPostgresEventStore({ pool });
  await store.migrate();
  for (const [i, type] of HISTORY.entries()) await store.append('turnstile/tt-1', i, [{ type, data: {} }]);
  dashboard = await startDashboard({
    port: 0,
    readModel: new ReadModel(pool, 'public', 'ratchet'),
    app: defineApp({ name: 'travel', aggregates: [Turnstile] }),
    client: { sendRaw: () => Promise.reject(new Error('no commands here')) },
    log: pino({ level: 'silent' }),
    timeTravel: store,
  });
  base = `http://127.0.0.1:${dashboard.port}`;
});

afterAll(async () => {
  await dashboard?.close();
  await pool?.end();
  await db?.drop();
});

const get = async (path: string) => {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('the time-travel API', () => {
  it('lists the events and the statechart states, and gives the state after each version as a replay of that prefix', async () => {
    const history = await get('/api/time-travel/turnstile/tt-1');
    expect(history.status).toBe(200);
    expect(history.body).toMatchObject({ head: HISTORY.length, states: ['not-installed', 'locked', 'unlocked'] });
    expect((history.body.events as Array<{ type: string }>).map((e) => e.type)).toEqual(HISTORY);
    for (let version = 1; version <= HISTORY.length; version += 1) {
      const expected = Turnstile.replay(HISTORY.slice(0, version).map((type) => ({ type, data: {} })));
      const at = await get(`/api/time-travel/turnstile/tt-1?version=${version}`);
      expect(at.body).toMatchObject({
        version,
        value: expected.snapshot.value,
        context: expected.snapshot.context,
        event: { version, type: HISTORY[version - 1] },
      });
    }
    const events = await store.readStream('turnstile/tt-1');
    expect((await get(`/api/time-travel/turnstile/tt-1?at=${events[2]!.recordedAt.toISOString()}`)).body.version).toBeGreaterThanOrEqual(3);
  });

  it('answers 404 OUT_OF_RANGE outside the stream, 400 for a bad version, 404 for an unknown type', async () => {
    expect(await get('/api/time-travel/turnstile/tt-1?version=99')).toMatchObject({
      status: 404,
      body: { error: { code: 'OUT_OF_RANGE' } },
    });
    expect(await get('/api/time-travel/turnstile/tt-1?at=2000-01-01T00:00:00Z')).toMatchObject({
      status: 404,
      body: { error: { code: 'OUT_OF_RANGE' } },
    });
    expect(await get('/api/time-travel/turnstile/nobody')).toMatchObject({ status: 404, body: { error: { code: 'OUT_OF_RANGE' } } });
    expect(await get('/api/time-travel/turnstile/tt-1?version=x')).toMatchObject({
      status: 400,
      body: { error: { code: 'VALIDATION_FAILED' } },
    });
    expect(await get('/api/time-travel/order/o-1')).toMatchObject({ status: 404, body: { error: { code: 'UNKNOWN_AGGREGATE' } } });
  });
});

describe('the time-travel page in a browser', () => {
  let browser: Browser | undefined;

  afterAll(async () => {
    await browser?.close();
  });

  it('shows the statechart state and the counters at each version as the slider moves', async () => {
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/time-travel`);
    await page.fill('#tt-id', 'tt-1');
    await page.click('#pick button[type="submit"]');
    await expect.poll(() => page.locator('#tt-view').getAttribute('data-version'), { timeout: 10_000 }).toBe(String(HISTORY.length));
    const counters = () =>
      page
        .locator('#tt-context dd')
        .evaluateAll((dds) =>
          Object.fromEntries(
            dds.map((d) => [(d as unknown as { dataset: Record<string, string | undefined> }).dataset.key, Number(d.textContent)]),
          ),
        );
    for (const [version, state, context] of [
      [1, 'locked', { coins: 0, turns: 0, pushes: 0 }],
      [2, 'unlocked', { coins: 1, turns: 0, pushes: 0 }],
      [4, 'locked', { coins: 1, turns: 1, pushes: 2 }],
      [6, 'unlocked', { coins: 3, turns: 1, pushes: 2 }],
      [7, 'locked', { coins: 3, turns: 2, pushes: 3 }],
    ] as const) {
      await page.locator('#tt-version').fill(String(version));
      await expect.poll(() => page.locator('#tt-view').getAttribute('data-version'), { timeout: 10_000 }).toBe(String(version));
      expect(await page.locator('.tt-state.active').getAttribute('data-state')).toBe(state);
      expect(await counters()).toEqual(context);
      expect(await page.locator('#tt-events li.current').getAttribute('data-version')).toBe(String(version));
    }
    await page.screenshot({ path: `${screenshots}time-travel.png`, fullPage: true });
    await page.click('#tt-prev');
    await expect.poll(() => page.locator('#tt-view').getAttribute('data-version'), { timeout: 10_000 }).toBe('6');
    expect(errors).toEqual([]);
  }, 60_000);
});
