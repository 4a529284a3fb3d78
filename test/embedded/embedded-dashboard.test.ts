// The dashboard of the embedded demo (RATCHET_DEMO_INFRA=embedded: PGlite and the in-process
// transport in one process) in headless Chromium: it must say "not distributed", disable the worker
// buttons with the reason instead of showing ones that fail silently, and load with no console
// error and no failed request (the favicon's 404 was the only one). The technician dispatch runs in
// it too, on the store's feed, and the time-travel API reads the same PGlite store.
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoProcess } from '../demo/demo-process.js';

describe('dashboard of the embedded demo', () => {
  let demo: DemoProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let url: string;
  const consoleErrors: string[] = [];
  const failed: string[] = [];

  beforeAll(async () => {
    demo = startDemo(['--port', '0', '--turnstiles', '50', '--riders', '2', '--rate', '10'], {
      RATCHET_DEMO_INFRA: 'embedded',
      NATS_URL: '',
      DATABASE_URL: '',
    });
    // PGlite's cold start takes seconds, more on a loaded machine.
    url = (await demo.line(/^Dashboard: (http:\/\/\S+)$/, 180_000))[1]!;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 950 } });
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    page.on('response', (r) => r.status() >= 400 && failed.push(`${r.status()} ${r.url()}`));
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  }, 120_000);

  it('says "not distributed" and disables Add worker with the reason; no Kill buttons', async () => {
    await page.goto(url);
    await expect.poll(() => page.locator('#conn').textContent(), { timeout: 20_000 }).toBe('live');
    expect(await page.locator('#mode').textContent()).toMatch(/^not distributed/);
    const add = page.locator('#add-worker');
    expect(await add.isVisible()).toBe(true);
    expect(await add.isDisabled()).toBe(true);
    expect(await add.getAttribute('title')).toMatch(/cannot be killed or added/);
    const note = page.locator('#workers-note');
    expect(await note.isVisible()).toBe(true);
    expect(await note.textContent()).toMatch(/^Embedded mode: one worker inside the demo process, so workers cannot be killed or added\./);
    await expect.poll(() => page.locator('#workers .worker').count(), { timeout: 20_000 }).toBe(1);
    expect(await page.locator('#workers button.kill').count()).toBe(0);
  }, 60_000);

  it('runs the technician dispatch too (one runner on the feed): three ineffective pushes call a station', async () => {
    await expect
      .poll(() => page.locator('#processes tr td:first-child').allTextContents(), { timeout: 20_000 })
      .toEqual(['technician-dispatch']);
    const id = `embedded-${Date.now().toString(36)}`;
    await page.fill('#turnstile-id', id);
    await page.click('button[data-command="install"]');
    await expect.poll(() => page.locator(`.cell[data-id="${id}"]`).getAttribute('data-state'), { timeout: 20_000 }).toBe('locked');
    for (let i = 1; i <= 3; i += 1) {
      await page.click('#push-arm');
      await expect
        .poll(() => page.locator('#command-result').textContent(), { timeout: 20_000 })
        .toMatch(new RegExp(`^ok: armPushedIneffectively → locked v${i + 1}`));
    }
    await expect
      .poll(
        () => page.locator('#stations .station', { has: page.locator(`xpath=self::*[contains(@title, "last call for ${id}")]`) }).count(),
        { timeout: 30_000 },
      )
      .toBe(1);
  }, 90_000);

  it('travels in time over the embedded store: a turnstile at version 1 is locked, with its install event', async () => {
    const id = `travel-${Date.now().toString(36)}`;
    await page.goto(url);
    await page.fill('#turnstile-id', id);
    await page.click('button[data-command="install"]');
    await expect.poll(() => page.locator(`.cell[data-id="${id}"]`).getAttribute('data-state'), { timeout: 20_000 }).toBe('locked');
    const r = await page.request.get(new URL(`api/time-travel/turnstile/${id}?version=1`, url).toString());
    expect(r.status()).toBe(200);
    const body = (await r.json()) as { version: number; value: unknown; event: { type: string } | null };
    expect(body).toMatchObject({ version: 1, value: 'locked', event: { type: 'installed' } });
  }, 60_000);

  it('serves its favicon, and the page has no console error and no failed request', async () => {
    expect(await page.locator('link[rel="icon"]').getAttribute('href')).toBe('/favicon.svg');
    for (const path of ['favicon.svg', 'favicon.ico']) {
      const r = await page.request.get(new URL(path, url).toString());
      expect(r.status(), path).toBe(200);
      expect(r.headers()['content-type']).toBe('image/svg+xml');
    }
    await page.reload();
    await expect.poll(() => page.locator('#conn').textContent(), { timeout: 20_000 }).toBe('live');
    await page.waitForTimeout(1_000);
    expect(consoleErrors).toEqual([]);
    expect(failed).toEqual([]);
  }, 60_000);
});
