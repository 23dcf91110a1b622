import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueName } from '../../queues/catalog.js';
import { existingRunSchema, runStatusSchema } from '../../src/api/schemas.js';
import { seedRequest } from '../helpers/requests.js';
import { AUTH, presentSteps, RUN_STEPS, startApiWithPipeline, type PipelineHarness } from './harness.js';

/** The run's step failures for good, in order, until its send job fails (worker events, not polls). */
function failuresUntilSendFails(harness: PipelineHarness, runId: string): Promise<{ step: QueueName; reason: string }[]> {
  const seen: { step: QueueName; reason: string }[] = [];
  return new Promise((resolve) => {
    for (const [step, worker] of Object.entries(harness.pool.workers)) {
      worker.on('failed', (job, err) => {
        if (job?.data.runId !== runId || !job.finishedOn) return;
        seen.push({ step: step as QueueName, reason: err.message });
        if (step === 'send') resolve(seen);
      });
    }
  });
}

/** One value of a metric in the text exposition format, or undefined when the series is absent. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('a list send through the HTTP API, end to end', () => {
  let harness: PipelineHarness;
  let base: string;
  const runId = 'api-e2e';

  beforeAll(async () => {
    harness = await startApiWithPipeline({ label: 'api-run' });
    await harness.app.listen({ port: 0, host: '127.0.0.1' });
    const address = harness.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('enqueues over a real socket and reports the finished run with its import counts', async () => {
    const posted = await request(`${base}/v1/list-sends`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify(seedRequest({ runId })),
    });
    expect(posted.statusCode).toBe(202);
    const { statusUrl } = (await posted.body.json()) as { statusUrl: string };

    const finished = await harness.producer.waitUntilFinished(runId, { timeoutMs: 20_000 });
    expect(finished.state).toBe('completed');

    const got = await request(`${base}${statusUrl}`, { headers: AUTH });
    expect(got.statusCode).toBe(200);
    const body = runStatusSchema.parse(await got.body.json());
    expect(body.state).toBe('completed');
    expect(presentSteps(body.steps).map((s) => [s.step, s.state, s.attempts])).toEqual([
      ['resolve-list', 'completed', 1],
      ['create-import', 'completed', 1],
      ['start-import', 'completed', 1],
      ['poll-import', 'completed', expect.any(Number)],
      ['send', 'completed', 1],
    ]);
    expect(body.steps.find((s) => s.step === 'resolve-list')?.result).toMatchObject({ listId: '123' });
    expect(body.import).toMatchObject({ status: 'Completed', numberErrors: 0 });
    expect(body.import?.numberSuccessful).toBeGreaterThan(0);
    expect(body.result?.sendId).toBe(harness.sandbox.state.sends[0]?.id);
  });

  it('answers a repeat of the finished run with 200 and the completed run, and sends nothing more', async () => {
    const res = await harness.app.inject({ method: 'POST', url: '/v1/list-sends', headers: AUTH, payload: seedRequest({ runId }) });
    expect(res.statusCode).toBe(200);
    expect(existingRunSchema.parse(res.json()).run.state).toBe('completed');
    expect(harness.sandbox.state.sends).toHaveLength(1);
  });

  it('refuses to cancel a run whose Send was created: 409', async () => {
    const res = await harness.app.inject({ method: 'DELETE', url: `/v1/list-sends/${runId}`, headers: AUTH });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toBe('too-late');
  });

  it('exports run, step, SOAP and queue metrics after the run', async () => {
    const res = await request(`${base}/metrics`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.body.text();
    expect(metric(text, 'list_send_runs_started_total')).toBe(1);
    expect(metric(text, 'list_send_runs_completed_total')).toBe(1);
    for (const step of RUN_STEPS) {
      expect(metric(text, 'list_send_step_duration_seconds_count', { step, outcome: 'completed' }), step).toBe(1);
    }
    // Polling an import that is still running is a `delayed` visit.
    expect(metric(text, 'list_send_step_duration_seconds_count', { step: 'poll-import', outcome: 'delayed' })).toBeGreaterThan(0);
    expect(metric(text, 'list_send_soap_call_duration_seconds_count', { operation: 'Retrieve', object_type: 'List', outcome: 'ok' })).toBe(1);
    expect(metric(text, 'list_send_soap_call_duration_seconds_count', { operation: 'Create', object_type: 'Send', outcome: 'ok' })).toBe(1);
    expect(metric(text, 'list_send_soap_call_duration_seconds_count', { operation: 'Perform', outcome: 'ok' })).toBe(1);
    expect(metric(text, 'list_send_queue_jobs', { queue: 'send', state: 'completed' })).toBe(1);
    expect(metric(text, 'list_send_queue_jobs', { queue: 'poll-import', state: 'waiting' })).toBe(0);
  });

  it('cancels a run before its Send: 202, the run ends cancelled, and no Send is made', async () => {
    const cancelId = 'api-cancel';
    // This run's import never finishes on its own, so the run cannot reach the Send first.
    harness.sandbox.setImportBehaviour({ customerKey: `ls-${cancelId}`, durationMs: 600_000 });
    const failures = failuresUntilSendFails(harness, cancelId);
    const posted = await harness.app.inject({ method: 'POST', url: '/v1/list-sends', headers: AUTH, payload: seedRequest({ runId: cancelId }) });
    expect(posted.statusCode).toBe(202);

    const cancelled = await harness.app.inject({ method: 'DELETE', url: `/v1/list-sends/${cancelId}`, headers: AUTH });
    expect(cancelled.statusCode).toBe(202);

    // The step that notices the cancel fails; BullMQ then fails each parent up to the send job.
    const [first, ...parents] = await failures;
    expect(first?.reason).toMatch(/^cancelled: /);
    expect(parents.map((p) => p.reason).every((r) => /^child .* failed$/.test(r))).toBe(true);
    const status = runStatusSchema.parse(
      (await harness.app.inject({ method: 'GET', url: `/v1/list-sends/${cancelId}`, headers: AUTH })).json(),
    );
    expect(status.state).toBe('cancelled');
    expect(status.steps.find((s) => s.step === first?.step)).toMatchObject({ state: 'failed', error: expect.stringMatching(/^cancelled: /) });
    expect(status.steps.find((s) => s.step === 'send')?.state).toBe('failed');
    expect(harness.sandbox.state.sends).toHaveLength(1); // only the first run's

    // One failed run, counted once, under the step that noticed the cancel.
    const metrics = (await harness.app.inject({ method: 'GET', url: '/metrics' })).body;
    const failedSeries = metrics.split('\n').filter((l) => l.startsWith('list_send_runs_failed_total{'));
    expect(failedSeries).toEqual([`list_send_runs_failed_total{step="${first?.step}",reason="cancelled",account="default"} 1`]);
    expect(metric(metrics, 'list_send_runs_started_total')).toBe(2);
  });

  it('counts a run that fails after its last retry under the failure code', async () => {
    const failId = 'api-retries-exhausted';
    // The harness allows 3 attempts per step: each finding of the list fails.
    const rule = harness.sandbox.faults.inject({ operation: 'Retrieve', objectType: 'List', kind: 'server-fault', times: 3 });
    try {
      const failures = failuresUntilSendFails(harness, failId);
      await harness.app.inject({ method: 'POST', url: '/v1/list-sends', headers: AUTH, payload: seedRequest({ runId: failId }) });
      const [first] = await failures;
      expect(first?.step).toBe('resolve-list');
      const status = runStatusSchema.parse(
        (await harness.app.inject({ method: 'GET', url: `/v1/list-sends/${failId}`, headers: AUTH })).json(),
      );
      expect(status.state).toBe('failed');
      const resolve = status.steps.find((s) => s.step === 'resolve-list');
      expect(resolve).toMatchObject({ state: 'failed', attempts: 3 });
      const code = resolve?.error?.split(':')[0] ?? '';
      expect(code).not.toBe('');

      const metrics = (await harness.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metric(metrics, 'list_send_runs_failed_total', { step: 'resolve-list', reason: code })).toBe(1);
      expect(metric(metrics, 'list_send_step_duration_seconds_count', { step: 'resolve-list', outcome: 'retry' })).toBe(3);
      expect(metric(metrics, 'list_send_soap_call_duration_seconds_count', { operation: 'Retrieve', object_type: 'List', outcome: code })).toBe(3);
    } finally {
      harness.sandbox.faults.remove(rule);
    }
  });
});
