import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveCustomerKey } from '../../src/request.js';
import { seedRequest } from '../helpers/requests.js';
import { AUTH, DASHBOARD, startApiWithPipeline, type PipelineHarness } from '../api/harness.js';

/**
 * The runs pages (/runs, /runs/<runId>) in headless Chromium, as a person who sends reads them:
 * a completed run, a run whose List does not exist, and a run whose import is still running
 * (the sandbox holds that one import for a minute). Screenshots land in test-artifacts/; the ones
 * in docs/ for the README are copies of them (so a test run never changes the tree).
 */

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');
const available = existsSync(CHROMIUM);
if (!available) console.warn(`[browser tests] skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

const GOOD = 'runs-page-good';
const BAD = 'runs-page-bad';
const SLOW = 'runs-page-slow';
/** A List name that is also markup: the pages must show it as text. */
const MISSING_LIST = 'No_Such_List <b id="injected">x</b>';

describe.skipIf(!available)('the runs pages in headless Chromium', () => {
  let harness: PipelineHarness;
  let browser: Browser;
  let base: string;
  const cspViolations: string[] = [];

  async function post(body: unknown): Promise<void> {
    const res = await request(`${base}/v1/list-sends`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.statusCode).toBe(202);
    await res.body.dump();
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    harness = await startApiWithPipeline({ label: 'runs-page' });
    await harness.app.listen({ port: 0, host: '127.0.0.1' });
    const address = harness.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    // The slow run's import stays Processing for a minute: its poll count grows while we watch.
    harness.sandbox.setImportBehaviour({ customerKey: deriveCustomerKey(SLOW), durationMs: 60_000 });
    await post(seedRequest({ runId: GOOD }));
    await post(seedRequest({ runId: BAD, list: { name: MISSING_LIST } }));
    await post(seedRequest({ runId: SLOW, poll: { initialDelayMs: 1_000, maxDelayMs: 1_000, timeoutMs: 90_000 } }));
    expect((await harness.producer.waitUntilFinished(GOOD, { timeoutMs: 20_000 })).state).toBe('completed');
    expect((await harness.producer.waitUntilFinished(BAD, { timeoutMs: 20_000 })).state).toBe('failed');

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await harness?.close();
  });

  async function senderPage(width = 1280, height = 800): Promise<Page> {
    const context = await browser.newContext({ httpCredentials: { username: DASHBOARD.user, password: DASHBOARD.password }, viewport: { width, height } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    return page;
  }

  /** No horizontal scrolling: the page fits the viewport's width. */
  const fitsWidth = (page: Page) =>
    page.evaluate(() => {
      // Runs in the browser; the test's tsconfig has no DOM types.
      const g = globalThis as unknown as { document: { documentElement: { scrollWidth: number } }; innerWidth: number };
      return g.document.documentElement.scrollWidth <= g.innerWidth;
    });

  it('refuses /runs, a run page and the script without the dashboard credentials', async () => {
    const context = await browser.newContext();
    try {
      for (const path of ['/runs', `/runs/${GOOD}`, '/runs/assets/runs.js']) {
        const response = await context.request.get(`${base}${path}`);
        expect(response.status()).toBe(401);
        expect(response.headers()['www-authenticate']).toMatch(/^Basic /);
      }
      const cancel = await context.request.post(`${base}/runs/${SLOW}/cancel`, { form: { token: 'x' } });
      expect(cancel.status()).toBe(401);
    } finally {
      await context.close();
    }
  });

  it('lists the runs newest first with state, List, counts, sendId and the failed run\'s reason', async () => {
    const page = await senderPage();
    try {
      const response = await page.goto(`${base}/runs`, { waitUntil: 'domcontentloaded' });
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
      const order = await page.locator('tr[data-run]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')));
      expect(order).toEqual([SLOW, BAD, GOOD]);

      const good = page.locator(`tr[data-run="${GOOD}"]`);
      await expect(good.locator('[data-field="state"]').textContent()).resolves.toBe('completed');
      const goodStatus = await harness.producer.status(GOOD);
      const sendId = (goodStatus?.result as { sendId: string }).sendId;
      await expect(good.locator('td[data-label="Send"]').textContent()).resolves.toBe(sendId);
      await expect(good.locator('td[data-label="Import"]').textContent()).resolves.toMatch(/^100 of 100 imported; 0 errors, 0 duplicates$/);
      await expect(good.locator('td[data-label="File"]').textContent()).resolves.toBe('SAP_List.csv');

      const bad = page.locator(`tr[data-run="${BAD}"]`);
      await expect(bad.locator('[data-field="state"]').textContent()).resolves.toBe('failed');
      await expect(bad.locator('.reason').textContent()).resolves.toBe(`resolve-list: list-not-found: list not found: no List named "${MISSING_LIST}" in this business unit`);
      await expect(bad.locator('td[data-label="List"]').textContent()).resolves.toBe(MISSING_LIST);
      expect(await page.locator('#injected').count()).toBe(0);
      expect(await fitsWidth(page)).toBe(true);
      await page.screenshot({ path: join(ARTIFACTS, 'runs-list.png'), fullPage: true });

      await page.goto(`${base}/runs?state=failed`, { waitUntil: 'domcontentloaded' });
      expect(await page.locator('tr[data-run]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')))).toEqual([BAD]);
      await page.goto(`${base}/runs?search=such_list`, { waitUntil: 'domcontentloaded' });
      expect(await page.locator('tr[data-run]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')))).toEqual([BAD]);
      await page.goto(`${base}/runs?account=default&search=${GOOD}`, { waitUntil: 'domcontentloaded' });
      expect(await page.locator('tr[data-run]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')))).toEqual([GOOD]);
    } finally {
      await page.context().close();
    }
  });

  it('is readable 375 px wide: no sideways scrolling, each run a block of labelled lines', async () => {
    const page = await senderPage(375, 800);
    try {
      await page.goto(`${base}/runs`, { waitUntil: 'domcontentloaded' });
      expect(await fitsWidth(page)).toBe(true);
      await page.screenshot({ path: join(ARTIFACTS, 'runs-list-375.png'), fullPage: true });
      await page.goto(`${base}/runs/${BAD}`, { waitUntil: 'domcontentloaded' });
      expect(await fitsWidth(page)).toBe(true);
    } finally {
      await page.context().close();
    }
  });

  it("shows a completed run's timeline: every step done, the counts, the Bull Board link, no Cancel", async () => {
    const page = await senderPage();
    try {
      await page.goto(`${base}/runs/${GOOD}`, { waitUntil: 'domcontentloaded' });
      const steps = await page.locator('#steps tr').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-step'), r.querySelector('[data-field="state"]')?.textContent]));
      expect(steps).toEqual(['resolve-list', 'create-import', 'start-import', 'poll-import', 'send'].map((s) => [s, 'completed']));
      await expect(page.locator('tr[data-step="poll-import"] [data-field="outcome"]').textContent()).resolves.toMatch(/^import Completed: 100 of 100 rows imported/);
      expect(Number(await page.locator('tr[data-step="poll-import"] [data-field="polls"]').textContent())).toBeGreaterThanOrEqual(1);
      await expect(page.locator('tr[data-step="send"] [data-field="duration"]').textContent()).resolves.toMatch(/\d+(\.\d)? (ms|s)$/);
      await expect(page.getByRole('link', { name: "This run's flow in Bull Board" }).getAttribute('href')).resolves.toBe(`/ui/queue/send/${GOOD}-send`);
      expect(await page.locator('button.cancel').count()).toBe(0);
      await page.screenshot({ path: join(ARTIFACTS, 'run-completed.png'), fullPage: true });
    } finally {
      await page.context().close();
    }
  });

  it("shows a failed run's step and reason in plain words", async () => {
    const page = await senderPage();
    try {
      await page.goto(`${base}/runs/${BAD}`, { waitUntil: 'domcontentloaded' });
      await expect(page.locator('[data-field="failure"]').textContent()).resolves.toContain('resolve-list: list-not-found: list not found');
      await expect(page.locator('tr[data-step="resolve-list"] [data-field="state"]').textContent()).resolves.toBe('failed');
      await expect(page.locator('tr[data-step="send"] [data-field="outcome"]').textContent()).resolves.toBe('not finished: poll-import failed before it');
      expect(await page.locator('#steps').textContent()).not.toContain(harness.prefix);
      expect(await page.locator('#injected').count()).toBe(0);
      expect(await page.locator('button.cancel').count()).toBe(0);
      await page.screenshot({ path: join(ARTIFACTS, 'run-failed.png'), fullPage: true });
    } finally {
      await page.context().close();
    }
  });

  it('updates a running poll live, without a reload, then cancels the run from its page', async () => {
    const page = await senderPage();
    try {
      const polls = page.locator('tr[data-step="poll-import"] [data-field="polls"]');
      await page.goto(`${base}/runs/${SLOW}`, { waitUntil: 'domcontentloaded' });
      // A marker a reload would lose.
      await page.evaluate(() => ((globalThis as unknown as { stayed: boolean }).stayed = true));
      await expect.poll(async () => Number((await polls.textContent()) || 0), { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
      const seen = Number(await polls.textContent());
      await expect.poll(async () => Number((await polls.textContent()) || 0), { timeout: 15_000 }).toBeGreaterThan(seen);
      expect(await page.evaluate(() => (globalThis as unknown as { stayed?: boolean }).stayed)).toBe(true);
      await expect(page.locator('#facts [data-field="state"]').textContent()).resolves.toBe('running');
      await page.screenshot({ path: join(ARTIFACTS, 'run-running.png'), fullPage: true });

      await page.locator('button.cancel').click();
      await page.getByRole('status').filter({ hasText: 'The run was cancelled' }).waitFor();
      expect((await harness.producer.status(SLOW))?.state).toBe('cancelled');
      await expect(page.locator('#facts [data-field="state"]').first().textContent()).resolves.toBe('cancelled');
      expect(await page.locator('button.cancel').count()).toBe(0);
      expect(cspViolations).toEqual([]);
    } finally {
      await page.context().close();
    }
  });

  it("shows no 'rate limited' badge on Bull Board's idle queues after the runs", async () => {
    const page = await senderPage(1600, 900);
    try {
      await page.goto(`${base}/ui`, { waitUntil: 'domcontentloaded' });
      await page.locator('#bull-board-sidebar').getByRole('link', { name: 'send', exact: true }).waitFor({ state: 'visible' });
      await page.getByRole('main').getByRole('link', { name: 'resolve-list', exact: true }).waitFor({ state: 'visible' });
      expect(await page.getByText(/rate.?limit/i).count()).toBe(0);
      await page.screenshot({ path: join(ARTIFACTS, 'ui-after-runs.png') });

      // The check can fail: a limiter key with a TTL (what the per-queue limiter left) shows the badge.
      const limiter = `${harness.prefix}:resolve-list:limiter`;
      await harness.redis.set(limiter, '1', 'PX', 60_000);
      try {
        await page.reload({ waitUntil: 'domcontentloaded' });
        await page.getByText(/^rate limited \d+s$/).first().waitFor({ state: 'visible' });
        await page.screenshot({ path: join(ARTIFACTS, 'ui-badge-control.png') });
      } finally {
        await harness.redis.del(limiter);
      }
    } finally {
      await page.context().close();
    }
  });
});
