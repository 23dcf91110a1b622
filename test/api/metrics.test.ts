import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createMetrics, observeSoapCall, observeStepEnd, serveMetrics } from '../../src/metrics.js';

describe('the metrics a worker exports', () => {
  const agent = new Agent();
  afterAll(() => agent.close());

  it('records SOAP calls by account, operation, object type and outcome, in seconds', async () => {
    const metrics = createMetrics(new Registry(), { processMetrics: false });
    const onCall = observeSoapCall(metrics);
    onCall({ operation: 'Retrieve', objectType: 'List', durationMs: 120, outcome: 'ok' });
    onCall({ operation: 'Perform', durationMs: 3_000, outcome: 'throttled' } as Parameters<typeof onCall>[0]);
    observeSoapCall(metrics, 'emea')({ operation: 'Retrieve', objectType: 'List', durationMs: 50, outcome: 'ok' });
    const text = await metrics.registry.metrics();
    expect(text).toContain('list_send_soap_call_duration_seconds_sum{account="default",operation="Retrieve",object_type="List",outcome="ok"} 0.12');
    expect(text).toContain('list_send_soap_call_duration_seconds_count{account="default",operation="Perform",object_type="",outcome="throttled"} 1');
    expect(text).toContain('list_send_soap_call_duration_seconds_sum{account="emea",operation="Retrieve",object_type="List",outcome="ok"} 0.05');
  });

  it('records step visits, and counts the ends of runs the wrapper reports, by account', async () => {
    const metrics = createMetrics(new Registry(), { processMetrics: false, accounts: ['default', 'emea'] });
    const onStepEnd = observeStepEnd(metrics);
    onStepEnd({ queue: 'poll-import', outcome: 'delayed', durationMs: 40 });
    onStepEnd({ queue: 'poll-import', outcome: 'failed', durationMs: 10, code: 'import-error', account: 'emea', runEnded: 'failed' });
    onStepEnd({ queue: 'resolve-list', outcome: 'retry', durationMs: 10, code: 'transport', account: 'default' });
    onStepEnd({ queue: 'send', outcome: 'completed', durationMs: 10, account: 'default' });
    onStepEnd({ queue: 'track-send', outcome: 'completed', durationMs: 10, account: 'default', runEnded: 'completed' });
    const text = await metrics.registry.metrics();
    expect(text).toContain('list_send_step_duration_seconds_count{account="unknown",step="poll-import",outcome="delayed"} 1');
    expect(text).toContain('list_send_runs_failed_total{step="poll-import",reason="import-error",account="emea"} 1');
    // A retry is not a failed run, and only the step that ended the run completes it.
    expect(text).not.toContain('reason="transport"');
    expect(text).toContain('list_send_runs_completed_total{account="default"} 1');
    // Every configured account has its zero series from the start.
    expect(text).toContain('list_send_runs_completed_total{account="emea"} 0');
    expect(text).toContain('list_send_runs_started_total{account="emea"} 0');
  });

  it('serves /metrics on its own port (METRICS_PORT) and nothing else', async () => {
    const metrics = createMetrics(new Registry());
    metrics.runsCompleted.inc({ account: 'default' });
    const server = await serveMetrics(metrics.registry, { port: 0 });
    try {
      const res = await request(`http://127.0.0.1:${server.port}/metrics`, { dispatcher: agent });
      expect(res.statusCode).toBe(200);
      const text = await res.body.text();
      expect(text).toContain('list_send_runs_completed_total{account="default"} 1');
      expect(text).toContain('list_send_process_cpu_seconds_total');
      const other = await request(`http://127.0.0.1:${server.port}/`, { dispatcher: agent });
      expect(other.statusCode).toBe(404);
      await other.body.dump();
    } finally {
      await server.close();
    }
  });
});
