import { z } from 'zod';
import { QUEUE_NAMES, type ImportCounts, type JobResults } from '../../queues/catalog.js';
import { reportsImport, type RunEndStep, type RunResult } from '../../queues/steps.js';
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

/**
 * The result schema of every step a run may end on (`endsRun` in queues/steps.ts): a step added
 * there without its schema here does not compile, nor does a schema that differs from its result type.
 */
const sendResultSchema = z.object({
  sendId: z.string(),
  emailId: z.string(),
  listId: z.string(),
  import: countsSchema,
  recovered: z.boolean().describe('true when an existing Send was found after an ambiguous failure'),
});

const deliverySchema = z
  .object({
    status: z.string().describe("the Send's final Status in SFMC (Complete, or a failure status)"),
    sentDate: z.string().nullable(),
    numberSent: z.number(),
    numberDelivered: z.number(),
    hardBounces: z.number(),
    softBounces: z.number(),
    otherBounces: z.number(),
    unsubscribes: z.number(),
    uniqueOpens: z.number(),
    uniqueClicks: z.number(),
  })
  .describe('what SFMC reported about the Send once it was over (track-send)');

const RUN_RESULT_SCHEMAS = {
  send: sendResultSchema,
  'track-send': sendResultSchema.extend({
    delivery: deliverySchema,
    checks: z.number().int().describe('Send status checks made'),
    failedChecks: z.number().int().describe('checks that failed transiently (no news)'),
  }),
} satisfies { [N in RunEndStep]: z.ZodType<JobResults[N]> };
same<{ [N in RunEndStep]: z.infer<(typeof RUN_RESULT_SCHEMAS)[N]> }, { [N in RunEndStep]: JobResults[N] }>(true);

const runResultSchemas = Object.values(RUN_RESULT_SCHEMAS) as z.ZodType<RunResult>[];
/** The run's result: its last step's, one of the shapes above. */
const runResultSchema = runResultSchemas.length === 1 ? runResultSchemas[0]! : z.union(runResultSchemas as [z.ZodType<RunResult>, z.ZodType<RunResult>]);

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
  result: runResultSchema.optional().describe("the result of the run's last step (the Send), once it completed"),
});

export const runSummarySchema = runStatusSchema.pick({ runId: true, state: true, createdAt: true, cancelledAt: true, error: true }).extend({
  statusUrl: z.string(),
});

export const runListSchema = z.object({ runs: z.array(runSummarySchema) });

export const acceptedSchema = z.object({ runId: runIdSchema, statusUrl: z.string() });

export const existingRunSchema = acceptedSchema.extend({ run: runStatusSchema });

export const cancelledSchema = z.object({ runId: runIdSchema, state: z.literal('cancelled'), cancelledAt: z.string().optional() });

/** Every `error` code the API answers with: the routes and the OpenAPI document both use this list. */
export const API_ERROR_CODES = [
  'invalid-request',
  'unauthorized',
  'not-found',
  'run-conflict',
  'too-late',
  'too-many-requests',
  'redis-unavailable',
  'queue-layout-mismatch',
  'unsupported-media-type',
  'payload-too-large',
  'bad-request',
  'internal',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

export const errorSchema = z.object({
  error: z.enum(API_ERROR_CODES).describe('a stable code'),
  message: z.string().optional(),
  problems: z.array(z.object({ path: z.string(), message: z.string() })).optional().describe('one entry per bad field'),
});

export type ApiErrorBody = z.infer<typeof errorSchema>;

/**
 * Every error reply body in src/api/ is built here, so its `error` is one of API_ERROR_CODES (the
 * list the OpenAPI document publishes): a code not in the list does not compile.
 */
export function apiError(error: ApiErrorCode, message?: string, problems?: ApiErrorBody['problems']): ApiErrorBody {
  return { error, ...(message !== undefined ? { message } : {}), ...(problems !== undefined ? { problems } : {}) };
}

export type RunStatusBody = z.infer<typeof runStatusSchema>;
export type RunSummaryBody = z.infer<typeof runSummarySchema>;

export function statusUrl(runId: string): string {
  return `/v1/list-sends/${encodeURIComponent(runId)}`;
}

/** The import's counts: from the step that reports them (queues/steps.ts), else from the run's result. */
function countsOf(status: RunStatus): RunStatusBody['import'] {
  const reporter = status.steps.find((s) => reportsImport(s.step) && s.state === 'completed' && s.result);
  if (reporter) {
    const r = reporter.result as ImportCounts & { importStatus?: string };
    return { ...(r.importStatus !== undefined ? { status: r.importStatus } : {}), ...pickCounts(r) };
  }
  const result = status.result as { import?: ImportCounts } | undefined;
  return result?.import ? pickCounts(result.import) : undefined;
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
