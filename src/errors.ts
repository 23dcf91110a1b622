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
  /** Cancelled by a producer before the Send. */
  | 'cancelled'
  /** A Create Send may have reached SFMC and SFMC cannot say whether it did. Never retried by itself. */
  | 'send-unknown';

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
