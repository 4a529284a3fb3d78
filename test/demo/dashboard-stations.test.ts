// The workflow features on the demo's dashboard, in a real browser: three ineffective pushes in a row
// on a turnstile (from the page's buttons) make the technician dispatch — a process manager run by
// the projector — call the turnstile's station; the station's tile shows the visit, which then ends
// by a technician completing it or by the statechart's visit timeout (a durable timer) escalating it;
// the process managers' table shows the dispatch caught up with its answered calls.
import { fileURLToPath } from 'node:url';
import { startNatsServer, type NatsServerHandle } from '@ratchet/launchers';
import { stationOf } from '@ratchet/station';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoProcess } from './demo-process.js';

const screenshots = fileURLToPath(new URL('./screenshots/', import.meta.url));

describe('stations and the technician dispatch on the dashboard', () => {
  let nats: NatsServerHandle;
  let db: TestDatabase;
  let demo: DemoProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;

  beforeAll(async () => {
    nats = await startNatsServer();
    db = await createTestDatabase('dashstations');
    // Few riders, so the stations mostly wait for the page's pushes; visits time out in 4 s.
    demo = startDemo(['--port', '0', '--turnstiles', '40', '--riders', '1', '--rate', '5', '--workers', '1'], {
      NATS_URL: nats.url,
      DATABASE_URL: db.url,
      STATION_VISIT_TIMEOUT_MS: '4000',
    });
    const url = (await demo.line(/^Dashboard: (http:\/\/\S+)$/))[1]!;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    await page.goto(url);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
    await nats?.stop();
    await db?.drop();
  }, 120_000);

  /** The tile of a station: its state and its calls·visits·escalations. */
  async function tile(
    station: string,
  ): Promise<{ state: string | null; calls: number; visits: number; escalations: number; title: string }> {
    const el = page.locator('#stations .station', { hasText: station });
    if ((await el.count()) === 0) return { state: null, calls: 0, visits: 0, escalations: 0, title: '' };
    const [calls, visits, escalations] = ((await el.locator('.n').textContent()) ?? '0·0·0').split('·').map(Number);
    return {
      state: await el.getAttribute('data-state'),
      calls: calls!,
      visits: visits!,
      escalations: escalations!,
      title: (await el.getAttribute('title')) ?? '',
    };
  }

  it('shows the process managers and, after three ineffective pushes in a row, the station called and its visit ended', async () => {
    await expect.poll(() => page.locator('#conn').textContent(), { timeout: 10_000 }).toBe('live');
    await expect.poll(() => page.locator('[data-processes]').isVisible()).toBe(true);
    expect(await page.locator('[data-stations]').isVisible()).toBe(true);
    await expect
      .poll(() => page.locator('#processes tr td:first-child').allTextContents(), { timeout: 20_000 })
      .toEqual(['technician-dispatch']);

    const id = `page-${Date.now().toString(36)}`;
    const station = stationOf(id);
    const before = await tile(station);
    await page.fill('#turnstile-id', id);
    await page.click('button[data-command="install"]');
    await expect.poll(() => page.locator(`.cell[data-id="${id}"]`).getAttribute('data-state'), { timeout: 15_000 }).toBe('locked');
    for (let i = 1; i <= 3; i += 1) {
      await page.click('#push-arm');
      await expect
        .poll(() => page.locator('#command-result').textContent(), { timeout: 15_000 })
        .toMatch(new RegExp(`^ok: armPushedIneffectively → locked v${i + 1}`));
    }
    // The dispatch called this turnstile's station (the riders rarely do at this rate).
    await expect.poll(async () => (await tile(station)).calls, { timeout: 20_000 }).toBeGreaterThan(before.calls);
    const called = await tile(station);
    expect(called.title).toContain(`last call for ${id}`);
    // The visit ends: a technician completes it, or the visit timeout (a durable timer) escalates it first.
    await expect
      .poll(
        async () => {
          const t = await tile(station);
          return t.visits + t.escalations;
        },
        { timeout: 30_000 },
      )
      .toBeGreaterThan(called.visits + called.escalations);
    // The dispatch is caught up, and its answered calls are counted.
    await expect.poll(() => page.locator('#processes tr td:nth-child(2)').textContent(), { timeout: 20_000 }).toBe('0');
    expect(Number(await page.locator('#processes tr td:nth-child(4)').textContent())).toBeGreaterThanOrEqual(1);
    await page.locator('[data-stations]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${screenshots}dashboard-stations.png`, fullPage: true });
  }, 120_000);
});
