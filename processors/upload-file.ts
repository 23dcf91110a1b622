import type { UploadFileResult } from '../queues/catalog.js';
import { RunError } from '../src/errors.js';
import { SftpError } from '../src/upload/errors.js';
import type { RunState } from '../src/runs.js';
import type { UploadOutcome } from '../src/upload/sftp.js';
import { describeReport, rulesFor } from '../src/upload/validate.js';
import type { StepProcessor } from './step.js';

function resultOf(fileSpec: string, o: UploadOutcome): UploadFileResult {
  const report = o.report;
  return {
    fileSpec,
    remotePath: o.remotePath,
    bytes: o.bytes,
    rows: report?.rows ?? 0,
    problems: report?.problemCount ?? 0,
    problemTotals: report?.totals ?? {},
    reused: o.reused,
  };
}

/** How often a running upload asks whether its run was cancelled or has failed, whether or not bytes flow. */
export const CANCEL_CHECK_EVERY_MS = 1_000;

/**
 * Why the upload stops for its run's registry state, or undefined while the run goes on. `ended`
 * before this step has completed can only mean another step failed for good (resolve-list beside
 * the upload): nothing will import this file, and its name is wanted by the next run.
 */
function stopFor(state: RunState, runId: string): RunError | undefined {
  if (state === 'cancelled') return new RunError('cancelled', 'the run was cancelled during the upload');
  if (state === 'ended') return new RunError('run-ended', 'the run failed at another step during the upload; its file is not published');
  if (state === 'missing') return new RunError('run-missing', `the run registry has no entry for run ${runId}; its file is not published`, { runId });
  return undefined;
}

/**
 * Step 0 (runs beside resolve-list, before create-import): stream the request's file through the
 * CSV pre-validation to the Enhanced FTP Import folder under a temporary name, then rename it to
 * the run's FileSpec. A file with problems fails the run here, so create-import, start-import and
 * send never run: no SOAP call that changes anything is made for a bad file.
 *
 * The upload stops when the run is cancelled or has failed at another step (checked on a timer, so
 * also when no byte moves, and once more just before the rename: a run that ended before that check
 * never gets its file published under the FileSpec), at UPLOAD_TIMEOUT_MS, and when the worker
 * shuts down (the job's signal; the job is then retried). A run that ends after the last check may
 * still see its file renamed: the wrapper keeps the file name owned until this step has returned
 * (src/worker/file-name.ts, endUpload), so the rename never lands on another run's file.
 * The problem list, which quotes offending values (at most 60 characters each) from a file inside
 * UPLOAD_DIR, goes to the job log only; errors carry counts, kinds and line numbers.
 */
export const uploadFile: StepProcessor<'upload-file'> = async (job, ctx) => {
  const { request } = ctx;
  if (!request.file) throw new RunError('invalid-file', 'this run has no file to upload');
  if (!ctx.uploader) {
    throw new SftpError(
      'sftp-not-configured',
      'this worker has no SFTP configuration: set SFMC_SFTP_USERNAME and SFMC_SFTP_PASSWORD (or SFMC_SFTP_PRIVATE_KEY_PATH)',
      'fatal',
    );
  }
  const fileSpec = request.import.fileSpec;
  const localPath = request.file.path;
  const { timeoutMs } = ctx.uploader.limits;

  const stop = new AbortController();
  const onShutdown = () =>
    stop.abort(new Error(`the upload was interrupted (${String(ctx.signal?.reason ?? 'worker stopping')}); another attempt starts it again`));
  if (ctx.signal?.aborted) onShutdown();
  ctx.signal?.addEventListener('abort', onShutdown, { once: true });
  const deadline = setTimeout(() => stop.abort(new RunError('upload-timeout', `the upload took longer than UPLOAD_TIMEOUT_MS (${timeoutMs} ms)`)), timeoutMs);
  let checking = false;
  const cancelCheck = setInterval(() => {
    if (checking) return;
    checking = true;
    ctx.runs
      .cancelState(job.data.runId)
      .then((state) => {
        const reason = stopFor(state, job.data.runId);
        if (reason) stop.abort(reason);
      })
      .catch(() => undefined)
      .finally(() => (checking = false));
  }, CANCEL_CHECK_EVERY_MS);
  const onProgress = (p: { bytes: number; totalBytes: number; rows: number }) => {
    void job.updateProgress({ uploadedBytes: p.bytes, totalBytes: p.totalBytes, rows: p.rows }).catch(() => undefined);
  };

  let outcome: UploadOutcome;
  try {
    outcome = await ctx.uploader.upload({
      localPath,
      fileSpec,
      attempt: job.attemptsMade + 1,
      rules: rulesFor(request),
      // An earlier attempt's file is reused only while the name stayed this run's: once the name was
      // free, another run may have put a file of the same size there.
      ...(job.data.uploaded && !ctx.fileNameFresh ? { previous: { bytes: job.data.uploaded.bytes } } : {}),
      beforePublish: async (o) => {
        // The last check before the rename: the timer above may not have run since the run ended.
        const reason = stopFor(await ctx.runs.cancelState(job.data.runId), job.data.runId);
        if (reason) throw reason;
        await job.updateData({ ...job.data, uploaded: resultOf(fileSpec, o) });
      },
      onRejected: async (report) => {
        await job.log(`the file fails the run: ${describeReport(report, localPath)}`);
      },
      onProgress,
      signal: stop.signal,
      log: ctx.log,
    });
  } finally {
    clearTimeout(deadline);
    clearInterval(cancelCheck);
    ctx.signal?.removeEventListener('abort', onShutdown);
  }

  if (outcome.reused && job.data.uploaded) {
    await job.log(`${outcome.remotePath} was uploaded whole by an earlier attempt; reusing it`);
    return { ...job.data.uploaded, reused: true };
  }
  const result = resultOf(fileSpec, outcome);
  if (outcome.report && result.problems > 0) {
    // allowErrors: the problems go to SFMC with the file; the job log keeps the list.
    await job.log(`allowErrors is set; uploading despite ${describeReport(outcome.report, localPath)}`);
  }
  if (outcome.report && outcome.report.duplicateEmails > 0) {
    await job.log(`${outcome.report.duplicateEmails} rows repeat an earlier row's email; SFMC counts them as NumberDuplicated (import.failOnDuplicateEmails makes them fail the run)`);
  }
  return result;
};
