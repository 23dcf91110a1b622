import { ListSendClient } from '../src/client.js';
import { createSandbox } from '../src/sandbox/index.js';
import { createSfmcClient, type CallEvent } from '../src/sfmc/client.js';
import { startWorkers } from '../src/worker/start.js';
import {
  addLatency,
  benchLogger,
  benchRequest,
  fixed,
  pct,
  sandboxSfmcConfig,
  seconds,
  withPrefix,
  workerRedis,
  type BenchContext,
  type ItemResult,
  type TargetResult,
} from './common.js';
import { DEFAULT_POLL_TIMING } from '../processors/poll-schedule.js';
import { doubling, lagWithinFrom, mostPolls, production, proportional, simulate, worstLagShare, type Schedule } from './poll-schedule.js';

/**
 * Item 2: one run against a sandbox that answers every call (token included) after 200 ms and
 * takes T = 10 minutes to import, time-scaled by K: every duration (call latency, import time,
 * registration delay, poll settings) is divided by K and every measured time multiplied back.
 * Engine hops (a few ms) are therefore magnified K times: the figures err on the slow side.
 */

const T_MS = 600_000;
const LATENCY_MS = 200;
const REGISTER_MS = 5_000;
/** Issue #14's targets: the lag within 10 % of T for every import from 5 to 60 min, ≤ 10 polls for 10 min. */
const LAG_FROM_MS = 300_000;
const LAG_TO_MS = 3_600_000;
const MAX_POLLS_10_MIN = 10;

interface PollSettings {
  label: string;
  initialDelayMs: number;
  maxDelayMs: number;
}

const DEFAULT_POLL: PollSettings = { label: 'default', ...DEFAULT_POLL_TIMING };
/** The request defaults before issue #14 (with the doubling schedule of that time). */
const OLD_POLL = { initialDelayMs: 2_000, maxDelayMs: 60_000 };
/** Issue #14's formula as written: `max(60 s, min(30 min, 0.09 × elapsed))`. */
const ISSUE_FORMULA = proportional(60_000, 1_800_000, 0.09);

interface Measured {
  settings: PollSettings;
  wallMs: number;
  callMs: number;
  calls: number;
  polls: number;
  lagMs: number;
}

export async function criticalPath(ctx: BenchContext): Promise<ItemResult> {
  const k = ctx.quick ? 300 : 10;
  const measured: Measured[] = [];
  for (const settings of [DEFAULT_POLL]) {
    const m = await oneRun(ctx, k, settings);
    measured.push(m);
    ctx.say(`  item 2 ${settings.label}: wall ${seconds(m.wallMs)}, ${m.polls} polls, lag ${seconds(m.lagMs)}`);
  }

  const defaultSchedule = production(DEFAULT_POLL_TIMING, 'default');
  const schedules: Schedule[] = [
    defaultSchedule,
    production(OLD_POLL, 'old settings (2 s, 60 s)'),
    doubling(OLD_POLL.initialDelayMs, OLD_POLL.maxDelayMs),
    ISSUE_FORMULA,
  ];
  const durations = [60_000, 180_000, 300_000, 540_000, 600_000, 1_200_000, 3_600_000];

  const [def] = measured as [Measured];
  const model10 = simulate(defaultSchedule, T_MS, LATENCY_MS);
  const most10 = mostPolls(defaultSchedule, T_MS, LATENCY_MS);
  const worst = worstLagShare(defaultSchedule, LAG_FROM_MS, LAG_TO_MS, LATENCY_MS);
  const default60 = simulate(defaultSchedule, 3_600_000, LATENCY_MS);
  const before60 = simulate(schedules[2] as Schedule, 3_600_000, LATENCY_MS);
  const before10 = simulate(schedules[2] as Schedule, T_MS, LATENCY_MS);
  const floor = (m: Measured) => m.callMs + T_MS;
  const targets: TargetResult[] = [
    {
      name: 'model: polls for a 10-minute import (default schedule)',
      target: `≤ ${MAX_POLLS_10_MIN}`,
      value: `${model10.polls} (at most ${most10} for any import up to 10 min)`,
      met: model10.polls <= MAX_POLLS_10_MIN,
    },
    {
      name: 'model: lag import end → Send, every import from 5 to 60 min (default schedule, 1-s steps)',
      target: '≤ 10 % of T',
      value: `at most ${pct(worst)}; within 10 % from ${seconds(lagWithinFrom(defaultSchedule, 0.1, LAG_TO_MS, LATENCY_MS))}`,
      met: worst <= 0.1,
    },
  ];
  for (const m of measured) {
    const ratio = m.wallMs / floor(m);
    const lagShare = m.lagMs / T_MS;
    const tag = `(measured, ${m.settings.label} poll settings)`;
    targets.push(
      {
        name: `wall ÷ (Σ call latencies + T) ${tag}`,
        target: '≤ 1.1',
        value: fixed(ratio, 3),
        met: ratio <= 1.1,
        ...(ratio <= 1.1 ? {} : { why: 'the lag after the import (below) and the engine hops add up to more than 10 %' }),
      },
      {
        name: `lag import end → Send ${tag}`,
        target: '≤ 10 % of T (60 s)',
        value: `${seconds(m.lagMs)} (${pct(lagShare)})`,
        met: lagShare <= 0.1,
        ...(lagShare <= 0.1 ? {} : { why: 'the poll that sees Completed comes up to one poll interval after the end' }),
      },
      {
        name: `polls for a 10-minute import ${tag}`,
        target: `≤ ${MAX_POLLS_10_MIN}`,
        value: String(m.polls),
        met: m.polls <= MAX_POLLS_10_MIN,
      },
    );
  }

  return {
    id: 2,
    title: 'Critical path: one run against a slow SFMC',
    setup: [
      `Sandbox in this process: every SOAP call and the token request answered ${LATENCY_MS} ms after the work (a \`delay\` fault on every call), import of T = ${seconds(T_MS)} (registered after ${seconds(REGISTER_MS)}).`,
      `Time-scaled by K = ${k}: latency ${fixed(LATENCY_MS / k, 2)} ms, T ${seconds(T_MS / k)}, poll settings ÷ ${k}; figures below are ×${k}, back in real time. Engine hops (ms) are magnified ${k}× by this: the ratio errs high.`,
      'Wall = enqueue until the send job completed; Σ call latencies = the SOAP client\'s own durations of every call (the token fetch is inside the first call); lag = the Send\'s creation in the sandbox minus the import\'s end.',
      'Σ call latencies counts every poll too, although polls overlap T; the strict floor (token + resolve + create + T + last poll + send) is about 1 s smaller and changes the ratio in the 4th decimal.',
      `The model (next table) leaves out engine time. Each poll adds some: the wrapper's reads, \`updateData\`, progress, log, \`moveToDelayed\`, then the delayed job's promotion and activation. Each check is scheduled from the end of the one before, so that time accumulates and moves later checks against the import's end. The scaling multiplies it by ${k}. That is why the measured lag differs from the model's.`,
    ],
    tables: [
      {
        caption: `Measured (×${k})`,
        head: ['poll settings', 'wall', 'Σ call latencies (calls)', 'T', 'wall ÷ (Σ + T)', 'polls', 'lag after import', 'model: polls / lag'],
        rows: measured.map((m) => {
          const model = simulate(production(m.settings), T_MS, LATENCY_MS);
          return [
            `${m.settings.label}: initial ${seconds(m.settings.initialDelayMs)}, cap ${seconds(m.settings.maxDelayMs)}`,
            seconds(Math.round(m.wallMs)),
            `${seconds(Math.round(m.callMs))} (${m.calls})`,
            seconds(T_MS),
            fixed(m.wallMs / floor(m), 3),
            m.polls,
            `${seconds(Math.round(m.lagMs))} (${pct(m.lagMs / T_MS)})`,
            `${model.polls} / ${seconds(Math.round(model.lagMs))}`,
          ];
        }),
      },
      {
        caption:
          'Model (bench/poll-schedule.ts; the measured row above checks it): polls / lag (lag ÷ T) by import duration T, 200 ms per call. ' +
          'Then: the most polls any import up to 10 min takes, the worst lag ÷ T over every import from 5 to 60 min (1-s steps), and the duration from which the lag stays within 10 % up to 60 min',
        head: ['schedule', ...durations.map(seconds), 'most polls ≤ 10 min', 'worst lag 5–60 min', 'lag ≤ 10 % of T from'],
        rows: schedules.map((s) => [
          s.label,
          ...durations.map((t) => {
            const r = simulate(s, t, LATENCY_MS);
            return `${r.polls} / ${seconds(Math.round(r.lagMs / 1000) * 1000)} (${Math.round((r.lagMs / t) * 100)} %)`;
          }),
          mostPolls(s, T_MS, LATENCY_MS),
          pct(worstLagShare(s, LAG_FROM_MS, LAG_TO_MS, LATENCY_MS)),
          seconds(lagWithinFrom(s, 0.1, LAG_TO_MS, LATENCY_MS)),
        ]),
      },
    ],
    targets,
    notes: [
      [
        `**The default schedule** (processors/poll-schedule.ts): two checks ${seconds(DEFAULT_POLL_TIMING.initialDelayMs)} apart, then each wait 9 % of the time since the first visit, capped at ${seconds(DEFAULT_POLL_TIMING.maxDelayMs)}. ` +
          `Measured: ${def.polls} polls and a lag of ${seconds(Math.round(def.lagMs))} for the 10-minute import. Per the model it takes ${model10.polls} polls for 10 minutes and ${default60.polls} for 60 (the old doubling default: ${before10.polls} and ${before60.polls}).`,
        'Why not `max(initial, min(maxDelay, 0.09 × elapsed))` as issue #14 wrote it: its floor holds the checks `initial` apart until 0.09 × elapsed passes it, at 11 × initial. ' +
          'To keep the lag within 10 % from 5 minutes the floor must be at most 30 s, and then the checks up to 5 minutes alone are ten. Keeping the lag within 10 % for every T from 5 to 10 minutes needs checks at most 10 % apart from 5 minutes on, about eight of them; ' +
          'with at most ten for a 10-minute import, two are left for everything before 5 minutes: hence two early checks, then the proportional waits.',
        `**The trade-off for short imports**: an import that ends before the first check (${seconds(DEFAULT_POLL_TIMING.initialDelayMs)}) waits for it, and one ending before 5 minutes waits for the second: up to ${seconds(DEFAULT_POLL_TIMING.initialDelayMs)} after it ended, where the old doubling default waited a few seconds. A request that knows its imports are short sets \`poll.initialDelayMs\` lower (the early checks come closer together, and more polls are spent).`,
      ].join('\n\n'),
    ],
  };
}

async function oneRun(ctx: BenchContext, k: number, settings: PollSettings): Promise<Measured> {
  return withPrefix(ctx, 'crit', async (prefix) => {
    const scale = (ms: number) => Math.max(1, Math.round(ms / k));
    const sandbox = await createSandbox({ import: { registerDelayMs: scale(REGISTER_MS), durationMs: scale(T_MS) } });
    addLatency(sandbox, scale(LATENCY_MS));
    const calls: CallEvent[] = [];
    const sfmc = createSfmcClient({ config: sandboxSfmcConfig(sandbox), onCall: (e) => calls.push(e) });
    const connection = workerRedis(ctx.redisUrl);
    const pool = await startWorkers({ connection, prefix, sfmc, logger: benchLogger(), concurrency: 10 });
    // Scaled time: the request's delays are divided like the import's, below POLL_FLOOR_MS.
    const producer = new ListSendClient({ redisUrl: ctx.redisUrl, prefix, steps: { attempts: 5, backoffMs: 10_000 }, pollFloorMs: 1 });
    try {
      const finished = new Promise<number>((resolve, reject) => {
        pool.workers.send.once('completed', () => resolve(performance.now()));
        for (const w of Object.values(pool.workers)) w.on('failed', (job, err) => reject(new Error(`${job?.id}: ${err.message}`)));
      });
      const started = performance.now();
      await producer.enqueue(
        benchRequest('critical-path', { initialDelayMs: scale(settings.initialDelayMs), maxDelayMs: scale(settings.maxDelayMs), timeoutMs: scale(7_200_000) }),
      );
      const ended = await finished;
      const imp = Object.values(sandbox.state.imports)[0];
      const send = sandbox.state.sends[0];
      if (!imp || !send) throw new Error('the run finished without an import and a Send in the sandbox');
      return {
        settings,
        wallMs: (ended - started) * k,
        callMs: calls.reduce((sum, c) => sum + c.durationMs, 0) * k,
        calls: calls.length,
        polls: calls.filter((c) => c.objectType === 'ImportResultsSummary').length,
        lagMs: (send.createdAt - (imp.startedAt + imp.durationMs)) * k,
      };
    } finally {
      await producer.close();
      await pool.close();
      await sfmc.close();
      connection.disconnect();
      await sandbox.close();
    }
  });
}
