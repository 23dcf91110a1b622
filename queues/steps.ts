import type { ListSendRequest } from '../src/request.js';
import type { JobResults, QueueName } from './catalog.js';
import { QUEUE_NAMES } from './catalog.js';

/**
 * The step table: the one place that knows the steps. The flow, job options, run state, metrics,
 * API schema, CLI progress and worker pool all read it; none of them names a step.
 *
 * Order is the order of QUEUE_NAMES (the order a person reads them; the flow runs them deepest
 * child first). A run's last step (its flow's root) is the last of its steps present in that order:
 * the run is finished when that job completes, and its result is the run's result.
 *
 * Adding a step requires exactly:
 *  1. its name in QUEUE_NAMES (queues/catalog.ts), at its place in the order;
 *  2. its payload and result types in JobPayloads and JobResults (queues/catalog.ts);
 *  3. its entry here (`needs` says which steps' results it reads; `presentWhen` when optional;
 *     `endsRun: true` when a run may end on it);
 *  4. one processor file in processors/ and its line in PROCESSORS (src/worker/registry.ts);
 *  5. when `endsRun`, its result's zod schema in RUN_RESULT_SCHEMAS (src/api/schemas.ts).
 * The compiler refuses a step missing from 2, 3, 4 or 5 once it is in 1.
 */
export interface StepSpec {
  /** The steps whose results this one reads: its children in the flow, which run before it. */
  readonly needs: readonly QueueName[];
  /** Only for optional steps: whether a run with this request has the step. */
  readonly presentWhen?: (request: RunShape) => boolean;
  /**
   * The step waits on SFMC by delaying itself between checks (processors/polling.ts): the CLI
   * shows its progress lines rather than every activation, and its SOAP calls yield to the
   * steps that move runs forward in the account's call budget (src/sfmc/budget.ts).
   */
  readonly polls: boolean;
  /** A resource that caps this step's concurrency below the pool's: an upload holds an SFTP connection. */
  readonly concurrencyCap?: 'sftp-connections';
  /** A run may end on this step: its result is then the run's result (see RunResult). */
  readonly endsRun: boolean;
  /** The step's result carries the import's row counts (shown as the run's `import`). */
  readonly reportsImport?: boolean;
  /**
   * Where a cancel stops the run at this step (issue #14: the mark is read only where it matters):
   *   'before' the worker reads the mark before every visit: the step may change something in
   *            SFMC or the Enhanced FTP, or (polling) would go on spending calls for a cancelled run;
   *   'own'    the step checks atomically where it acts (send: the Send claim, src/runs.ts);
   *   'none'   the step changes nothing that a cancel protects: resolve-list only reads, and
   *            track-send runs after the Send claim, which a cancel can no longer pass.
   * A visit that reads the run's registry entry anyway (not cached in the worker) stops at a
   * cancel whatever this says.
   */
  readonly cancelCheck: 'before' | 'own' | 'none';
  /**
   * The run's remote file name, for runs with a `file` (src/upload/file-name-lock.ts): one run at a
   * time owns it, from before the upload's first byte until SFMC's import has read the file.
   *   'take'    the worker takes the name before the step runs; while another run owns it, the job
   *             waits delayed (no slot held, no attempt used);
   *   'hold'    the step runs only while its run still owns the name, and renews it;
   *   'release' as 'hold', and once the step completes the name is released.
   * A final failure of any of these steps (a cancel among them) releases the name too; a final
   * failure of any other step releases it once no upload of the run can still write the file
   * (src/worker/file-name.ts).
   */
  readonly fileName?: 'take' | 'hold' | 'release';
}

/** What of the request decides which steps a run has. */
export type RunShape = Pick<ListSendRequest, 'file'> & Partial<Pick<ListSendRequest, 'track'>>;

export const STEPS = {
  'resolve-list': { needs: [], polls: false, endsRun: false, cancelCheck: 'none' },
  'upload-file': {
    needs: [],
    presentWhen: (request: RunShape) => request.file !== undefined,
    polls: false,
    concurrencyCap: 'sftp-connections',
    endsRun: false,
    cancelCheck: 'before',
    fileName: 'take',
  },
  'create-import': { needs: ['resolve-list', 'upload-file'], polls: false, endsRun: false, cancelCheck: 'before', fileName: 'hold' },
  'start-import': { needs: ['create-import'], polls: false, endsRun: false, cancelCheck: 'before', fileName: 'hold' },
  // Completed or Error: SFMC has finished reading the file, so the name is free for the next run.
  'poll-import': { needs: ['start-import'], polls: true, endsRun: false, reportsImport: true, cancelCheck: 'before', fileName: 'release' },
  send: { needs: ['poll-import'], polls: false, endsRun: true, cancelCheck: 'own' },
  // Follows the Send until SFMC reports it over; `"track": false` ends the run at the Send.
  'track-send': { needs: ['send'], presentWhen: (request: RunShape) => request.track !== false, polls: true, endsRun: true, cancelCheck: 'none' },
} as const satisfies { readonly [N in QueueName]: StepSpec };

const spec = (step: QueueName): StepSpec => STEPS[step];

/** The steps a run can end on. */
export type RunEndStep = { [N in QueueName]: (typeof STEPS)[N]['endsRun'] extends true ? N : never }[QueueName];

/** A finished run's result: the result of whichever step ended it. */
export type RunResult = JobResults[RunEndStep];

export function isOptionalStep(step: QueueName): boolean {
  return spec(step).presentWhen !== undefined;
}

export function stepPolls(step: QueueName): boolean {
  return spec(step).polls;
}

export function reportsImport(step: QueueName): boolean {
  return spec(step).reportsImport === true;
}

export function concurrencyCapOf(step: QueueName): StepSpec['concurrencyCap'] {
  return spec(step).concurrencyCap;
}

/**
 * Whether a stopping worker aborts this step's running jobs (their BullMQ signal) rather than
 * waiting for them: a step holding an SFTP connection can wait on a stalled server for a long time;
 * the others are short (src/worker/from-config.ts). Only these steps' processors take the signal:
 * BullMQ makes an AbortController for every job of a processor that declares one.
 */
export function abortsOnStop(step: QueueName): boolean {
  return spec(step).concurrencyCap === 'sftp-connections';
}

export function cancelCheckOf(step: QueueName): StepSpec['cancelCheck'] {
  return spec(step).cancelCheck;
}

export function fileNameRoleOf(step: QueueName): StepSpec['fileName'] {
  return spec(step).fileName;
}

/** Whether `step` runs only after `earlier` has completed: `earlier` is among its needs, directly or through them. */
export function runsAfter(step: QueueName, earlier: QueueName): boolean {
  return spec(step).needs.some((need) => need === earlier || runsAfter(need, earlier));
}

/** The steps a run with this request has, in order. */
export function runSteps(request: RunShape): QueueName[] {
  return QUEUE_NAMES.filter((step) => spec(step).presentWhen?.(request) ?? true);
}

/** The run's last step, the root of its flow: the last step it has. */
export function runEndStep(request: RunShape): QueueName {
  const steps = runSteps(request);
  return steps[steps.length - 1] as QueueName;
}

/**
 * A step's children in this run's flow: the steps it needs that the run has; for a needed step
 * the run lacks, that step's own needs in its place, so an absent step never cuts the chain.
 */
export function childSteps(step: QueueName, present: readonly QueueName[]): QueueName[] {
  return spec(step).needs.flatMap((need) => (present.includes(need) ? [need] : childSteps(need, present)));
}
