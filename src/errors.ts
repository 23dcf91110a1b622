import { UnrecoverableError } from 'bullmq';

/** What the pipeline does about a failure: fail the run, retry the step, or pause the account. */
export type FailureKind = 'fatal' | 'retryable' | 'throttled';

/**
 * The base of every failure the pipeline knows by name (RunError, SfmcError, SftpError): a stable
 * `code` to match on, a `kind` that decides what BullMQ does, whether the failed call may have
 * changed something anyway, and the underlying `cause`. `K` lets SfmcError add `auth-expired`,
 * which its client turns into one token refresh and which the pipeline treats as retryable.
 */
export abstract class ServiceError<C extends string = string, K extends string = FailureKind> extends Error {
  abstract override readonly name: string;
  constructor(
    readonly code: C,
    message: string,
    readonly kind: K,
    /**
     * True when the request may have reached its service and changed something even though no
     * success came back: non-idempotent steps must look before they repeat such a call.
     */
    readonly mayHaveTakenEffect: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}

export function isServiceError(err: unknown): err is ServiceError<string, string> {
  return err instanceof ServiceError;
}

/** A failure in the pipeline's terms; `code: message` is what Bull Board and `status` show. */
export interface FailureDescription {
  code: string;
  message: string;
  fatal: boolean;
  throttled: boolean;
}

/**
 * The errors the step wrapper (src/worker/wrap.ts) threw for a step's final failure, having marked
 * the run finished and counted it. Any other final failure a worker reports was made by BullMQ
 * itself, without the wrapper: a job that stalled more than maxStalledCount times (BullMQ marks it
 * while moving it back to wait, node_modules/bullmq/dist/cjs/commands/moveStalledJobsToWait-9.lua
 * `defa`, and fails it with an UnrecoverableError of its own when a worker next takes it,
 * worker.js getUnrecoverableErrorMessage), or a flow parent whose child failed ("child ... failed").
 */
const endedByWrapper = new WeakSet<Error>();

export function markEndedByWrapper<E extends Error>(err: E): E {
  endedByWrapper.add(err);
  return err;
}

/**
 * True for a job failed for good without the wrapper, and not as the flow parent of a failed child
 * (that failure was the child's, already handled where it happened): a run that ended with no step
 * marking it finished or counting it.
 */
export function failedWithoutWrapper(job: { finishedOn?: number } | undefined, err: Error): boolean {
  return Boolean(job?.finishedOn) && !endedByWrapper.has(err) && !/^child .+ failed$/.test(err.message);
}

export function describeFailure(err: unknown): FailureDescription {
  if (isServiceError(err)) return { code: err.code, message: err.message, fatal: err.kind === 'fatal', throttled: err.kind === 'throttled' };
  if (err instanceof UnrecoverableError) return { code: 'fatal', message: err.message, fatal: true, throttled: false };
  return { code: 'internal', message: err instanceof Error ? err.message : String(err), fatal: false, throttled: false };
}

/**
 * Why a run stopped, as a stable code. Every RunError is fatal: it is a verdict on what SFMC
 * answered, and retrying would get the same answer. SFMC transport and protocol failures are SfmcError
 * (src/sfmc/errors.ts); these are the pipeline's own verdicts about what SFMC answered.
 */
export type RunErrorCode =
  | 'list-not-found'
  | 'ambiguous-list'
  /** The request's Email ID is not an Email in this business unit: refused before the import. */
  | 'email-not-found'
  | 'import-definition-mismatch'
  | 'import-error'
  | 'import-empty'
  | 'poll-timeout'
  | 'missing-child-result'
  /** The file to upload failed pre-validation; the message lists the first problems by line. */
  | 'invalid-file'
  /** The file to upload cannot be read on the worker's machine. */
  | 'file-unreadable'
  /** The file is outside UPLOAD_DIR, or not a regular file (issue #10). */
  | 'file-not-allowed'
  /** The file is larger than UPLOAD_MAX_BYTES. */
  | 'file-too-large'
  /** The upload took longer than UPLOAD_TIMEOUT_MS. */
  | 'upload-timeout'
  /** The run's hold on its remote file name ran out before its import had read the file (src/worker/file-name.ts). */
  | 'file-name-lost'
  /** Cancelled by a producer before the Send. */
  | 'cancelled'
  /**
   * The run had already failed at another step (resolve-list beside a running upload): a step
   * still running for it stops without changing anything, and an upload does not publish its file.
   */
  | 'run-ended'
  /** The run registry holds no request for the job's run (deleted, or expired after the run finished). */
  | 'run-missing'
  /** A step that needs the run's destination found none in the registry (resolve-list records it). */
  | 'destination-missing'
  /** The run names an SFMC account this worker is not configured with (SFMC_ACCOUNTS). */
  | 'unknown-account'
  /** A Create Send may have reached SFMC and SFMC cannot say whether it did. Never retried by itself. */
  | 'send-unknown'
  /** The Send reached a final Status that is a failure (Canceled, Error, ...): track-send. */
  | 'send-failed'
  /** The Send was not final within the request's track.timeoutMs: track-send. */
  | 'track-timeout';

/** Always fatal, and never after a call that may have taken effect: a verdict, not a lost reply. */
export class RunError extends ServiceError<RunErrorCode, 'fatal'> {
  override readonly name = 'RunError';
  constructor(
    code: RunErrorCode,
    message: string,
    readonly context: Record<string, unknown> = {},
  ) {
    super(code, message, 'fatal', false);
  }
}

export function isRunError(err: unknown): err is RunError {
  return err instanceof RunError;
}
