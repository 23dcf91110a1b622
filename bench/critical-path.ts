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
import { doubling, lagWithinFrom, proportional, simulate, type Schedule } from './poll-schedule.js';

/**
 * Item 2: one run against a sandbox that answers every call (token included) after 200 ms and
 * takes T = 10 minutes to import, time-scaled by K: every duration (call latency, import time,
 * registration delay, poll settings) is divided by K and every measured time multiplied back.
 * Engine hops (a few ms) are therefore magnified K times: the figures err on the slow side.
 */

const T_MS = 600_000;
const LATENCY_MS = 200;
const REGISTER_MS = 5_000;

interface PollSettings {
  label: string;
  initialDelayMs: number;
  maxDelayMs: number;
}

const DEFAULT_POLL: PollSettings = { label: 'default', initialDelayMs: 2_000, maxDelayMs: 60_000 };
/** Doubling from 20 s, capped at 60 s: a settings-only change that meets both targets for 10 minutes. */
const TUNED_POLL: PollSettings = { label: 'tuned (settings only)', initialDelayMs: 20_000, maxDelayMs: 60_000 };
/**
 * The proposal: wait 9 % of the time waited so far (10 % minus room for the 200 ms answers),
 * at least 60 s, at most 30 min.
 */
const SHARE = 0.09;
const SUGGESTED = proportional(60_000, 1_800_000, SHARE);

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
  for (const settings of [DEFAULT_POLL, TUNED_POLL]) {
    const m = await oneRun(ctx, k, settings);
    measured.push(m);
    ctx.say(`  item 2 ${settings.label}: wall ${seconds(m.wallMs)}, ${m.polls} polls, lag ${seconds(m.lagMs)}`);
  }

  const schedules: Schedule[] = [
    doubling(DEFAULT_POLL.initialDelayMs, DEFAULT_POLL.maxDelayMs),
    doubling(TUNED_POLL.initialDelayMs, TUNED_POLL.maxDelayMs),
    SUGGESTED,
    proportional(30_000, 1_800_000, SHARE),
  ];
  const durations = [60_000, 180_000, 300_000, 540_000, 600_000, 1_200_000, 3_600_000];

  const [def, tuned] = measured as [Measured, Measured];
  const suggested10 = simulate(SUGGESTED, T_MS, LATENCY_MS);
  const suggested60 = simulate(SUGGESTED, 3_600_000, LATENCY_MS);
  const default60 = simulate(schedules[0] as Schedule, 3_600_000, LATENCY_MS);
  const floor = (m: Measured) => m.callMs + T_MS;
  const targets: TargetResult[] = [];
  for (const m of measured) {
    const ratio = m.wallMs / floor(m);
    const lagShare = m.lagMs / T_MS;
    const tag = `(${m.settings.label} poll settings)`;
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
        target: '≤ 12',
        value: String(m.polls),
        met: m.polls <= 12,
        ...(m.polls <= 12
          ? {}
          : {
              why: `doubling from ${seconds(m.settings.initialDelayMs)} reaches the ${seconds(m.settings.maxDelayMs)} cap after a few checks, then checks once per ${seconds(m.settings.maxDelayMs)} until the import ends`,
            }),
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
          const model = simulate(doubling(m.settings.initialDelayMs, m.settings.maxDelayMs), T_MS, LATENCY_MS);
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
          'Model (bench/poll-schedule.ts; the measured rows above check it): polls / lag (lag ÷ T) by import duration T, 200 ms per call. Last column: the lag stays within 10 % of T for every import from this duration up to 60 min',
        head: ['schedule', ...durations.map(seconds), 'lag ≤ 10 % of T from'],
        rows: schedules.map((s) => [
          s.label,
          ...durations.map((t) => {
            const r = simulate(s, t, LATENCY_MS);
            return `${r.polls} / ${seconds(Math.round(r.lagMs / 1000) * 1000)} (${Math.round((r.lagMs / t) * 100)} %)`;
          }),
          seconds(lagWithinFrom(s, 0.1, 3_600_000, LATENCY_MS)),
        ]),
      },
    ],
    targets,
    notes: [
      [
        `**Reading it.** With the default settings the Send follows a 10-minute import within seconds (lag ${seconds(Math.round(def.lagMs))}), but the run takes ${def.polls} polls: ` +
          'doubling from 2 s reaches the 60 s cap after five checks (2+4+8+16+32 s) and then polls once a minute. ' +
          `Doubling from 20 s with the same cap (request \`"poll": { "initialDelayMs": 20000, "maxDelayMs": 60000 }\`, no code change) meets both targets for this import: ${tuned.polls} polls, lag ${seconds(Math.round(tuned.lagMs))}.`,
        'Part of that is where the checks happen to fall. With any schedule capped at 60 s, the lag can be up to 60 s, which is within 10 % only for imports of 10 minutes or more: a 9-minute import can see 11 %. As a rule the two targets conflict. Keeping the lag within 10 % of T for every T between T₀ and 10 minutes needs checks at most 10 % apart, which is ln(600 s / T₀) / ln 1.1 checks. With at most 12, T₀ is at least 600 s / 1.1¹², about 190 s. Shorter imports must accept a lag above 10 % of T, small as it is in seconds.',
        `**Suggested schedule** (changes \`pollDelayMs\` in processors/poll-import.ts, which needs the time elapsed since \`firstPollAt\`; that is already on the job): \`delay = max(initial, min(maxDelay, ${SHARE} × elapsed))\` with initial 60 s and maxDelay 30 min. ` +
          `Per the model above it takes ${suggested10.polls} polls for a 10-minute import and keeps the lag within 10 % of T for every import from ${seconds(lagWithinFrom(SUGGESTED, 0.1, 3_600_000, LATENCY_MS))} up to an hour. ` +
          `It also cuts a 60-minute import from ${default60.polls} polls to ${suggested60.polls}. The cost is that an import shorter than about 10 minutes waits up to 60 s after it ends, where the default waits a few seconds. ` +
          `With initial 30 s the lag stays within 10 % from ${seconds(lagWithinFrom(schedules[3] as Schedule, 0.1, 3_600_000, LATENCY_MS))}, but a 10-minute import then takes ${simulate(schedules[3] as Schedule, T_MS, LATENCY_MS).polls} polls.`,
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
