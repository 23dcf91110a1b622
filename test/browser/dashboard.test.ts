import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES, stepJobId } from '../../queues/catalog.js';
import { runEndStep, runSteps } from '../../queues/steps.js';
import { parseListSendRequest } from '../../src/request.js';
import { seedRequest } from '../helpers/requests.js';
import { AUTH, DASHBOARD, startApiWithPipeline, type PipelineHarness } from '../api/harness.js';

/**
 * Bull Board in a real browser: headless Chromium from Debian's `chromium` package, driven by
 * playwright-core. After one completed, tracked run, the operator logs in, sees the queues and opens
 * the run's flow (track-send at its root). Screenshots land in test-artifacts/ (docs/dashboard.png is one of them).
 */

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');
const available = existsSync(CHROMIUM);
if (!available) console.warn(`[browser tests] skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

describe.skipIf(!available)('the Bull Board dashboard in headless Chromium', () => {
  let harness: PipelineHarness;
  let browser: Browser;
  let base: string;
  const runId = 'browser-run';
  // Tracked (the request default; seedRequest turns it off): the picture shows every step a run can
  // have but the upload. track.timeoutMs is the least allowed; the sandbox's Send is over in 3 checks.
  const input = seedRequest({ runId, track: { timeoutMs: 60_000 } });
  const steps = runSteps(parseListSendRequest(input));
  const root = runEndStep(parseListSendRequest(input));

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    harness = await startApiWithPipeline({ label: 'browser' });
    await harness.app.listen({ port: 0, host: '127.0.0.1' });
    const address = harness.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    const posted = await request(`${base}/v1/list-sends`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    expect(posted.statusCode).toBe(202);
    await posted.body.dump();
    expect((await harness.producer.waitUntilFinished(runId, { timeoutMs: 40_000 })).state).toBe('completed');

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await harness?.close();
  });

  /** Content-Security-Policy violations the page reported: the dashboard's CSP must not break it. */
  const cspViolations: string[] = [];

  async function operatorPage(): Promise<Page> {
    const context = await browser.newContext({
      httpCredentials: { username: DASHBOARD.user, password: DASHBOARD.password },
      viewport: { width: 1600, height: 760 },
    });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    return page;
  }

  it('refuses a browser without credentials (401)', async () => {
    const context = await browser.newContext();
    try {
      // Headless Chromium cannot prompt for the credentials the 401 challenge asks for.
      await expect((await context.newPage()).goto(`${base}/ui`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
      const response = await context.request.get(`${base}/ui`);
      expect(response.status()).toBe(401);
      expect(response.headers()['www-authenticate']).toMatch(/^Basic /);
    } finally {
      await context.close();
    }
  });

  it('logs in with basic auth and lists every queue', async () => {
    const page = await operatorPage();
    try {
      const response = await page.goto(`${base}/ui`, { waitUntil: 'domcontentloaded' });
      expect(response?.status()).toBe(200);
      const sidebar = page.locator('#bull-board-sidebar');
      const overview = page.getByRole('main');
      for (const name of QUEUE_NAMES) {
        await sidebar.getByRole('link', { name, exact: true }).waitFor({ state: 'visible' });
        await overview.getByRole('link', { name, exact: true }).waitFor({ state: 'visible' });
      }
      const listed = await sidebar.locator('a[title]').evaluateAll((links) => links.map((a) => a.getAttribute('title')));
      expect(listed.sort()).toEqual([...QUEUE_NAMES].sort());
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-queues.png') });
      expect(response?.headers()['x-frame-options']).toBe('DENY');
      expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
      // Redis details are hidden: the page never asks for them.
      expect(await page.getByText(/redis version/i).count()).toBe(0);
      expect(cspViolations).toEqual([]);
    } finally {
      await page.context().close();
    }
  });

  it("opens the run's root job (track-send) and shows its flow: every step completed, in one tree", async () => {
    expect(root).toBe('track-send');
    expect(steps).toContain('track-send');
    const page = await operatorPage();
    try {
      await page.goto(`${base}/ui/queue/${root}/${stepJobId(runId, root)}`, { waitUntil: 'domcontentloaded' });
      // React Flow labels each node "<name>, <state>, queue <queue>, id <jobId>".
      for (const step of steps) {
        await page.getByRole('group', { name: `${step}, completed, queue ${step}, id ${stepJobId(runId, step)}` }).waitFor({ state: 'attached' });
      }
      await expect(page.locator('[aria-roledescription="node"]').count()).resolves.toBe(steps.length);

      await page.getByRole('button', { name: 'Expand the flow to fullscreen' }).click();
      await page.getByRole('button', { name: 'Fit the whole flow' }).click();
      for (const step of steps) {
        await page.getByRole('group', { name: new RegExp(`^${step}, completed`) }).waitFor({ state: 'visible' });
      }
      const path = join(ARTIFACTS, 'dashboard.png');
      await page.screenshot({ path });
      expect(existsSync(path)).toBe(true);
      expect(cspViolations).toEqual([]);
    } finally {
      await page.context().close();
    }
  });
});
