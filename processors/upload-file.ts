import type { UploadFileResult } from '../queues/catalog.js';
import { RunError } from '../src/errors.js';
import { SftpError } from '../src/upload/errors.js';
import type { UploadOutcome } from '../src/upload/sftp.js';
import { describeReport, rulesFor } from '../src/upload/validate.js';
import type { StepProcessor } from '../src/worker/context.js';

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

/**
 * Step 0 (runs beside resolve-list, before create-import): stream the request's file through the
 * CSV pre-validation to the Enhanced FTP Import folder under a temporary name, then rename it to
 * the run's FileSpec. A file with problems fails the run here, so create-import, start-import and
 * send never run: no SOAP call that changes anything is made for a bad file.
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

  // A cancelled run stops uploading at the next progress tick; the job's own signal stops it too.
  const stop = new AbortController();
  ctx.signal?.addEventListener('abort', () => stop.abort(ctx.signal?.reason), { once: true });
  let checking = false;
  const onProgress = (p: { bytes: number; totalBytes: number }) => {
    void job.updateProgress({ uploadedBytes: p.bytes, totalBytes: p.totalBytes }).catch(() => undefined);
    if (checking) return;
    checking = true;
    ctx.runs
      .isCancelled(job.data.runId)
      .then((cancelled) => {
        if (cancelled) stop.abort(new RunError('cancelled', 'the run was cancelled during the upload'));
      })
      .catch(() => undefined)
      .finally(() => (checking = false));
  };

  const outcome = await ctx.uploader.upload({
    localPath,
    fileSpec,
    attempt: job.attemptsMade + 1,
    rules: rulesFor(request),
    ...(job.data.uploaded ? { previous: { bytes: job.data.uploaded.bytes } } : {}),
    beforePublish: async (o) => {
      await job.updateData({ ...job.data, uploaded: resultOf(fileSpec, o) });
    },
    onProgress,
    signal: stop.signal,
    log: ctx.log,
  });

  if (outcome.reused && job.data.uploaded) {
    await job.log(`${outcome.remotePath} was uploaded whole by an earlier attempt; reusing it`);
    return { ...job.data.uploaded, reused: true };
  }
  const result = resultOf(fileSpec, outcome);
  if (outcome.report && result.problems > 0) {
    // allowErrors: the problems go to SFMC with the file; the job log keeps the list.
    await job.log(`allowErrors is set; uploading despite ${describeReport(outcome.report, localPath)}`);
  }
  await job.log(`uploaded ${localPath} as ${result.remotePath}: ${result.bytes} bytes, ${result.rows} data rows`);
  return result;
};
