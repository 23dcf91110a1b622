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
  /** Cancelled by a producer before the Send. */
  | 'cancelled'
  /** The run registry holds no request for the job's run (deleted, or expired after the run finished). */
  | 'run-missing'
  /** A Create Send may have reached SFMC and SFMC cannot say whether it did. Never retried by itself. */
  | 'send-unknown'
  /** The Send reached a final Status that is a failure (Canceled, Error, ...): track-send. */
  | 'send-failed'
  /** The Send was not final within the request's track.timeoutMs: track-send. */
  | 'track-timeout';

export class RunError extends Error {
  override name = 'RunError';
  constructor(
    readonly code: RunErrorCode,
    message: string,
    readonly context: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function isRunError(err: unknown): err is RunError {
  return err instanceof RunError;
}
