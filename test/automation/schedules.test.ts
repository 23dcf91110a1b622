import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from 'bullmq';
import { Registry } from 'prom-client';
import { createMetrics, observeScheduleSkips } from '../../src/metrics.js';
import { seedRequest, startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { until } from '../reliability/support.js';
import { automationHarness, type AutomationHarness } from './support.js';

/**
 * Schedules on real Redis and the sandbox, two automation worker pools on one prefix: BullMQ's
 * Job Scheduler fires, one of the pools takes each firing, and the firing's runId makes it one run.
 */

let p: Pipeline;
let h: AutomationHarness;

beforeAll(async () => {
  // Imports last 2.5 s, so a run is in flight across a few firings of a 1 s schedule.
  p = await startPipeline({ label: 'schedules', sandbox: { import: { durationMs: 2_500 } } });
  h = automationHarness(p);
});

afterAll(async () => {
  await h?.close();
  await p?.close();
});

const requestWithoutRunId = () => {
  const { runId: _ignored, ...request } = seedRequest();
  return request;
};

describe('a schedule', () => {
  it('firing every 2 s (six-field cron) starts one run per firing with two workers, and stops after remove', async () => {
    const pools = [await h.startPool(), await h.startPool()];
    const firings: { worker: number; job: Job }[] = [];
    pools.forEach((pool, worker) => pool.schedules.on('completed', (job) => firings.push({ worker, job })));
    await h.admin.addSchedule({ name: 'every2s', cron: '*/2 * * * * *', overlap: 'allow', request: requestWithoutRunId() });
    expect((await h.admin.listSchedules()).map((s) => s.name)).toEqual(['every2s']);

    await until('three firings', () => firings.length >= 3 || undefined, 15_000);
    expect(await h.admin.removeSchedule('every2s')).toBe(true);
    const runIdsAtRemove = await until('the runs of the firings so far', async () => {
      const runs = await h.runsOf('every2s');
      return runs.length >= firings.length ? runs : undefined;
    });

    // Every firing job ran once, in one of the two pools, and started its own run: NAME-<firing time>.
    const jobIds = firings.map((f) => f.job.id);
    expect(new Set(jobIds).size).toBe(jobIds.length);
    const firedRuns = firings.map((f) => (f.job.returnvalue as { runId: string }).runId);
    expect(new Set(firedRuns).size).toBe(firedRuns.length);
    expect(runIdsAtRemove).toEqual([...firedRuns].sort());
    for (const runId of firedRuns) expect(runId).toMatch(/^every2s-\d{8}T\d{5}[02468]Z$/);

    // Past the next two firing times: no firing and no run more.
    const firedBefore = firings.length;
    await new Promise((r) => setTimeout(r, 4_500));
    expect(firings.length).toBe(firedBefore);
    expect(await h.runsOf('every2s')).toEqual(runIdsAtRemove);
    expect(await h.admin.listSchedules()).toEqual([]);
    for (const pool of pools) await pool.close();
  }, 40_000);

  it('skips firings while its previous run is in flight, counts them, and fires again once it finished', async () => {
    // Both pools count their skips in one /metrics registry, as `list-send worker` wires it (observeScheduleSkips).
    const metrics = createMetrics(new Registry(), { processMetrics: false });
    const pool = await h.startPool({ onSkip: observeScheduleSkips(metrics) });
    const second = await h.startPool({ onSkip: observeScheduleSkips(metrics) });
    await h.admin.addSchedule({ name: 'busy', every: '1s', request: requestWithoutRunId() });
    const first = await until('the first run', async () => (await h.runsOf('busy'))[0]);

    // The run takes 2.5 s or more: the 1 s firings meanwhile start nothing.
    const skipped = await until('two skipped firings', async () => {
      const [view] = await h.admin.listSchedules();
      return view && view.state.skipped >= 2 ? view : undefined;
    });
    expect(skipped.state.lastRunId).toBe(first);
    expect(await h.runsOf('busy')).toEqual([first]);
    const counted = (await metrics.scheduleSkips.get()).values.find((v) => v.labels.schedule === 'busy')?.value ?? 0;
    expect(counted).toBeGreaterThanOrEqual(2);

    await p.producer.waitUntilFinished(first, { timeoutMs: 20_000 });
    const next = await until('a run after the first finished', async () => (await h.runsOf('busy')).find((id) => id !== first));
    expect(next > first).toBe(true);
    // Once the pools are closed no firing is half done: every skip the state counted by then, /metrics counted.
    const [view] = await h.admin.listSchedules();
    expect(await h.admin.removeSchedule('busy')).toBe(true);
    await pool.close();
    await second.close();
    expect((await metrics.scheduleSkips.get()).values.find((v) => v.labels.schedule === 'busy')?.value).toBeGreaterThanOrEqual(view?.state.skipped ?? Infinity);
  }, 40_000);

  it('refuses a request with a runId, and a bad cron, naming the field', async () => {
    await expect(h.admin.addSchedule({ name: 'x', every: '10m', request: seedRequest({ runId: 'fixed' }) })).rejects.toThrow(/request\.runId: must not be given/);
    await expect(h.admin.addSchedule({ name: 'x', cron: '61 * * * *', request: requestWithoutRunId() })).rejects.toThrow(/cron: /);
    await expect(h.admin.addSchedule({ name: 'x', cron: '0 9 * * MON', tz: 'Mars/Olympus', request: requestWithoutRunId() })).rejects.toThrow(/tz: must be an IANA time zone/);
    await expect(h.admin.addSchedule({ name: 'x', every: '10m', request: { ...requestWithoutRunId(), email: {} } })).rejects.toThrow(/request\.email\.id/);
    expect(await h.admin.listSchedules()).toEqual([]);
  });
});
