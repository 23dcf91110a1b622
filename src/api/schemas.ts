import { z } from 'zod';
import { QUEUE_NAMES, type ImportCounts, type PollImportResult, type SendResult } from '../../queues/catalog.js';
import type { RunState, RunStatus, StepState } from '../client.js';
import { runIdSchema } from '../request.js';

/**
 * The HTTP API's shapes as zod schemas: the same objects validate requests, document responses
 * in /openapi.json, and let the tests check every response against its documentation. The
 * request body itself is `listSendRequestSchema` from src/request.ts.
 */

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const same = <A, B>(check: Same<A, B>) => check;

const RUN_STATES = ['waiting', 'running', 'completed', 'failed', 'cancelled'] as const;
const STEP_STATES = ['waiting', 'waiting-children', 'active', 'delayed', 'completed', 'failed', 'prioritized', 'unknown', 'missing'] as const;
// The enums must list exactly the client's states: adding one there fails the build here.
same<(typeof RUN_STATES)[number], RunState>(true);
same<(typeof STEP_STATES)[number], StepState>(true);

export const runStateSchema = z.enum(RUN_STATES);

export const runIdParamsSchema = z.strictObject({ runId: runIdSchema });

/** `?state=` with no value means no filter, like leaving the parameter out. */
const blankAsAbsent = <S extends z.ZodType>(schema: S) => z.preprocess((v) => (v === '' ? undefined : v), schema);

export const listQuerySchema = z.strictObject({
  state: blankAsAbsent(runStateSchema.optional()).describe('only runs in this state'),
  limit: blankAsAbsent(
    z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(200, 'must be at most 200').default(20),
  ).describe('how many runs, most recent first (default 20)'),
});

const countsSchema = z.object({
  numberSuccessful: z.number().int(),
  numberErrors: z.number().int(),
  numberDuplicated: z.number().int(),
  totalRows: z.number().int(),
});
same<z.infer<typeof countsSchema>, ImportCounts>(true);

const importCountsSchema = countsSchema.extend({ status: z.string().optional().describe("SFMC's ImportStatus") });

const sendResultSchema = z.object({
  sendId: z.string(),
  emailId: z.string(),
  listId: z.string(),
  import: countsSchema,
  recovered: z.boolean().describe('true when an existing Send was found after an ambiguous failure'),
});
same<z.infer<typeof sendResultSchema>, SendResult>(true);

export const stepStatusSchema = z.object({
  step: z.enum(QUEUE_NAMES),
  state: z.enum(STEP_STATES),
  attempts: z.number().int().describe('attempts made so far'),
  progress: z.unknown().optional(),
  result: z.unknown().optional().describe("the step's result once completed"),
  error: z.string().optional().describe('`code: message` of the last failure'),
});

export const runStatusSchema = z.object({
  runId: runIdSchema,
  state: runStateSchema,
  createdAt: z.string().optional(),
  cancelledAt: z.string().optional(),
  steps: z.array(stepStatusSchema),
  import: importCountsSchema.optional().describe("the import's row counts, once SFMC has finished it"),
  error: z.string().optional().describe("the failing step's reason"),
  result: sendResultSchema.optional().describe('the Send, once created'),
});

export const runSummarySchema = runStatusSchema.pick({ runId: true, state: true, createdAt: true, cancelledAt: true, error: true }).extend({
  statusUrl: z.string(),
});

export const runListSchema = z.object({ runs: z.array(runSummarySchema) });

export const acceptedSchema = z.object({ runId: runIdSchema, statusUrl: z.string() });

export const existingRunSchema = acceptedSchema.extend({ run: runStatusSchema });

export const cancelledSchema = z.object({ runId: runIdSchema, state: z.literal('cancelled'), cancelledAt: z.string().optional() });

export const errorSchema = z.object({
  error: z
    .string()
    .describe(
      'a stable code: invalid-request, unauthorized, not-found, run-conflict, too-late, redis-unavailable, unsupported-media-type, payload-too-large, bad-request, internal',
    ),
  message: z.string().optional(),
  problems: z.array(z.object({ path: z.string(), message: z.string() })).optional().describe('one entry per bad field'),
});

export type RunStatusBody = z.infer<typeof runStatusSchema>;
export type RunSummaryBody = z.infer<typeof runSummarySchema>;

export function statusUrl(runId: string): string {
  return `/v1/list-sends/${encodeURIComponent(runId)}`;
}

function countsOf(status: RunStatus): RunStatusBody['import'] {
  const poll = status.steps.find((s) => s.step === 'poll-import');
  if (poll?.state === 'completed' && poll.result) {
    const r = poll.result as PollImportResult;
    return { status: r.importStatus, ...pickCounts(r) };
  }
  const sent = status.result as SendResult | undefined;
  return sent?.import ? pickCounts(sent.import) : undefined;
}

function pickCounts(c: ImportCounts): Omit<NonNullable<RunStatusBody['import']>, 'status'> {
  return { numberSuccessful: c.numberSuccessful, numberErrors: c.numberErrors, numberDuplicated: c.numberDuplicated, totalRows: c.totalRows };
}

/** The client's status in the API's words (`attempts` rather than BullMQ's `attemptsMade`). */
export function toRunStatusBody(status: RunStatus): RunStatusBody {
  const counts = countsOf(status);
  return {
    runId: status.runId,
    state: status.state,
    ...(status.createdAt ? { createdAt: status.createdAt } : {}),
    ...(status.cancelledAt ? { cancelledAt: status.cancelledAt } : {}),
    steps: status.steps.map((s) => ({
      step: s.step,
      state: s.state,
      attempts: s.attemptsMade,
      ...(s.progress !== undefined ? { progress: s.progress } : {}),
      ...(s.result !== undefined ? { result: s.result } : {}),
      ...(s.error ? { error: s.error } : {}),
    })),
    ...(counts ? { import: counts } : {}),
    ...(status.error ? { error: status.error } : {}),
    ...(status.result ? { result: status.result } : {}),
  };
}

export function toRunSummaryBody(status: RunStatus): RunSummaryBody {
  return {
    runId: status.runId,
    state: status.state,
    ...(status.createdAt ? { createdAt: status.createdAt } : {}),
    ...(status.cancelledAt ? { cancelledAt: status.cancelledAt } : {}),
    ...(status.error ? { error: status.error } : {}),
    statusUrl: statusUrl(status.runId),
  };
}
