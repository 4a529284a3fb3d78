// The dashboard in a real browser (headless Chromium through playwright-core): the demo runs against a
// private nats-server and a fresh database; the page must load, its grid must follow the read model,
// and a button press must change a turnstile's cell through command → reply → read model.
import { fileURLToPath } from 'node:url';
import { startNatsServer, type NatsServerHandle } from '@ratchet/launchers';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoProcess } from './demo-process.js';

const screenshots = fileURLToPath(new URL('./screenshots/', import.meta.url));

describe('dashboard in a browser', () => {
  let nats: NatsServerHandle;
  let db: TestDatabase;
  let demo: DemoProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let url: string;

  beforeAll(async () => {
    nats = await startNatsServer();
    db = await createTestDatabase('dashboard');
    demo = startDemo(['--port', '0', '--turnstiles', '100', '--riders', '4', '--rate', '40', '--workers', '2'], {
      NATS_URL: nats.url,
      DATABASE_URL: db.url,
    });
    url = (await demo.line(/^Dashboard: (http:\/\/\S+)$/))[1]!;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 950 } });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
    await nats?.stop();
    await db?.drop();
  }, 120_000);

  it('loads, says it is distributed, and shows workers and partitions', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await expect.poll(() => page.locator('#conn').textContent(), { timeout: 10_000 }).toBe('live');
    expect(await page.locator('#mode').textContent()).toBe('distributed');
    await expect.poll(() => page.locator('#workers .worker:not(.down)').count(), { timeout: 20_000 }).toBe(2);
    await expect.poll(() => page.locator('#partitions div').count(), { timeout: 20_000 }).toBe(64);
    expect(errors).toEqual([]);
  }, 60_000);

  it('fills the grid from the read model and keeps it updating', async () => {
    await expect.poll(() => page.locator('.cell[data-state]').count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(95);
    const versions = () =>
      page
        .locator('.cell')
        .evaluateAll((cells) =>
          cells.reduce((sum, c) => sum + Number((c as unknown as { dataset: Record<string, string | undefined> }).dataset.version), 0),
        );
    const before = await versions();
    await expect.poll(versions, { timeout: 20_000 }).toBeGreaterThan(before);
    await expect.poll(() => page.locator('.cell[data-state="unlocked"]').count(), { timeout: 20_000 }).toBeGreaterThan(0);
  }, 60_000);

  it('installs a turnstile and unlocks it with the buttons; the cell follows', async () => {
    // An id the riders never use, so only the page moves it.
    const id = `browser-${Date.now().toString(36)}`;
    await page.fill('#turnstile-id', id);
    await page.click('button[data-command="install"]');
    const cell = page.locator(`.cell[data-id="${id}"]`);
    await expect.poll(() => cell.getAttribute('data-state'), { timeout: 15_000 }).toBe('locked');
    await page.click('#insert-coin');
    await expect.poll(() => cell.getAttribute('data-state'), { timeout: 15_000 }).toBe('unlocked');
    expect(await page.locator('#command-result').textContent()).toMatch(/^ok: coinInserted → unlocked v2/);
    await page.click('#push-arm');
    await expect.poll(() => cell.getAttribute('data-state'), { timeout: 15_000 }).toBe('locked');
    expect(await cell.getAttribute('data-version')).toBe('3');
    await page.click('#insert-coin');
    await expect.poll(() => cell.getAttribute('data-state'), { timeout: 15_000 }).toBe('unlocked');
    await cell.click();
    await page.waitForTimeout(1_500); // a few ticks of the charts for the screenshot
    await page.screenshot({ path: `${screenshots}dashboard.png` });
  }, 60_000);

  it('kills a worker from the page; the other takes its partitions and no command fails', async () => {
    const victim = page.locator('#workers .worker[data-worker="demo-worker-1"]');
    await victim.locator('button.kill').click();
    await expect.poll(() => victim.getAttribute('class'), { timeout: 10_000 }).toContain('down');
    const survivor = page.locator('#workers .worker[data-worker="demo-worker-2"] .muted');
    // Failover: member TTL + a heartbeat, then the claims.
    await expect.poll(() => survivor.textContent(), { timeout: 30_000 }).toContain('64 partitions');
    const outcomes = await page.locator('#s-outcomes').textContent();
    expect(outcomes).toMatch(/ \/ 0$/);
    await page.screenshot({ path: `${screenshots}dashboard-failover.png` });
  }, 60_000);
});
