// The bookstore's page in a real browser (headless Chromium through playwright-core, as the
// dashboard's test drives it): web.ts runs as its own process in front of the services loaded
// with RATCHET_APP. A person adds an author, sees them listed on the page the form leads to, is told
// in the form what is wrong with a bad one and that an address is taken, adds a book, and asks to
// be forgotten: the page then shows the placeholder instead of the address.
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServiceProcess, type ServiceProcess } from '@ratchet/launchers';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORGOTTEN } from '@ratchet/core';
import { EMAIL_TAKEN } from '../src/index.js';
import { BOOKSTORE_WEB, startBookstoreStack, type BookstoreStack } from './bookstore-stack.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const screenshots = fileURLToPath(new URL('./screenshots/', import.meta.url));

describe('the bookstore page in a browser', () => {
  let stack: BookstoreStack | undefined;
  let web: ServiceProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let url: string;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium (or set CHROMIUM_PATH)`);
    stack = await startBookstoreStack('bookstore_browser');
    web = await startServiceProcess({
      entry: BOOKSTORE_WEB,
      name: 'bookstore-web',
      readyMessage: 'bookstore web ready',
      env: { DATABASE_URL: stack.db.url, GATEWAY_URL: stack.gatewayUrl, HTTP_PORT: '0', GATEWAY_TIMEOUT_MS: '30000' },
    });
    url = String(web.ready.url);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      // A form shown again with its messages is answered 400 or 409 on purpose; Chromium logs those.
      if (m.type() === 'error' && !/status of (400|409) /.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    mkdirSync(screenshots, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
    await stack?.stop();
  }, 60_000);

  it('adds an author from the form and shows them on the page it leads to', async () => {
    await page.goto(url);
    expect(await page.locator('#no-authors').textContent()).toBe('No authors yet.');
    await page.fill('#name', 'Ben Vonk');
    await page.fill('#email', 'ben@sequent.io');
    await Promise.all([page.waitForURL(/\/\?added=/), page.click('#add-author button[type="submit"]')]);
    // Read-your-writes: the first page after the redirect has the row, no reload needed.
    expect(await page.locator('#notice').textContent()).toBe('Author Ben Vonk added.');
    const row = page.locator('#authors tbody tr', { hasText: 'Ben Vonk' });
    expect(await row.locator('td').allTextContents()).toEqual(['Ben Vonk', 'ben@sequent.io', '0']);
    expect(await page.inputValue('#name')).toBe('');
  });

  it('shows what is wrong in the form, beside each field, keeping what was typed', async () => {
    await page.fill('#name', '   ');
    await page.fill('#email', 'kim@sequent');
    await page.click('#add-author button[type="submit"]');
    await page.waitForSelector('#email-error');
    expect(await page.locator('#name-error').textContent()).toBe('Enter a name');
    expect(await page.locator('#email-error').textContent()).toBe('Enter an e-mail address like ben@sequent.io');
    expect(await page.getAttribute('#email', 'aria-invalid')).toBe('true');
    expect(await page.inputValue('#email')).toBe('kim@sequent');
    expect(await page.locator('#authors tbody tr').count()).toBe(1);
    await page.screenshot({ path: `${screenshots}bookstore-validation.png` });
  });

  it('says in the form that an address is taken, whatever its case', async () => {
    await page.fill('#name', 'Another Ben');
    await page.fill('#email', 'BEN@Sequent.io');
    await page.click('#add-author button[type="submit"]');
    await page.waitForSelector('#email-error');
    expect(await page.locator('#email-error').textContent()).toBe(EMAIL_TAKEN);
    expect(await page.locator('#name-error').count()).toBe(0);
    expect(await page.locator('#authors tbody tr').count()).toBe(1);
  });

  it("adds a book on the author's page and lists it there", async () => {
    await page.goto(url);
    await Promise.all([page.waitForURL(/\/authors\/[0-9a-f-]{36}$/), page.locator('#authors a', { hasText: 'Ben Vonk' }).click()]);
    expect(await page.locator('#author-name').textContent()).toBe('Ben Vonk');
    expect(await page.locator('#no-books').textContent()).toBe('No books yet.');
    await page.fill('#title', 'Event Sourcing in Practice');
    await Promise.all([page.waitForURL(/\?added=/), page.click('#add-book button[type="submit"]')]);
    expect(await page.locator('#books li').allTextContents()).toEqual(['Event Sourcing in Practice']);
    expect(await page.locator('#notice').textContent()).toBe('Book Event Sourcing in Practice added.');
    await page.screenshot({ path: `${screenshots}bookstore-author.png` });
    await page.goto(url);
    expect(await page.locator('#authors tbody tr td.n').allTextContents()).toEqual(['1']);
    await page.screenshot({ path: `${screenshots}bookstore.png` });
    expect(problems).toEqual([]);
  });

  it('forgets the author\'s address with "forget me" on their page', async () => {
    await Promise.all([page.waitForURL(/\/authors\/[0-9a-f-]{36}$/), page.locator('#authors a', { hasText: 'Ben Vonk' }).click()]);
    expect(await page.locator('#author-email').textContent()).toBe('ben@sequent.io');
    await Promise.all([page.waitForURL(/\?forgotten=1$/), page.click('#forget-me button[type="submit"]')]);
    expect(await page.locator('#notice').textContent()).toBe('Your e-mail address was forgotten.');
    expect(await page.locator('#author-email').textContent()).toBe(FORGOTTEN);
    expect(await page.locator('#forget-me').count()).toBe(0);
    expect(await page.locator('#books li').allTextContents()).toEqual(['Event Sourcing in Practice']);
    await page.screenshot({ path: `${screenshots}bookstore-forgotten.png` });
    await page.goto(url);
    expect(await page.locator('#authors tbody tr td').allTextContents()).toEqual(['Ben Vonk', FORGOTTEN, '1']);
    expect(problems).toEqual([]);
  });
});
