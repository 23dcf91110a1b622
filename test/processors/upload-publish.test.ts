import { describe, expect, it, vi } from 'vitest';
import { uploadFile } from '../../processors/upload-file.js';
import type { SftpUploader, UploadFileOptions, UploadOutcome } from '../../src/upload/sftp.js';
import { fakeJob, fakeRuns, stepContext, unitRequest } from '../helpers/fake-step.js';

/**
 * The last check before an upload renames its file onto the FileSpec (processors/upload-file.ts
 * beforePublish): a run that has failed elsewhere or been cancelled by then never gets its file
 * published. The uploader here calls beforePublish and "renames" only if it returns, as
 * src/upload/sftp.ts does; the pipeline case is in test/pipeline/file-names.test.ts.
 */

const request = unitRequest({ file: { path: '/uploads/subscribers.csv' }, import: { ...unitRequest().import, fileSpec: 'shared.csv' } });

function uploader() {
  const published = vi.fn();
  const upload = async (o: UploadFileOptions): Promise<UploadOutcome> => {
    const outcome = { remotePath: '/Import/shared.csv', bytes: 120, reused: false };
    await o.beforePublish?.(outcome);
    published();
    return outcome;
  };
  return { published, uploader: { limits: { maxBytes: 1_000, timeoutMs: 60_000 }, upload } as unknown as SftpUploader };
}

describe('publishing an uploaded file', () => {
  it('renames it while the run goes on', async () => {
    const { published, uploader: u } = uploader();
    const { job } = fakeJob('upload-file');
    await uploadFile(job, stepContext({ request, uploader: u }));
    expect(published).toHaveBeenCalledOnce();
  });

  it('does not rename it once the run has failed at another step', async () => {
    const { published, uploader: u } = uploader();
    const { job } = fakeJob('upload-file');
    const { runs } = fakeRuns(request, { finishedAt: '2026-01-01T00:00:00Z' });
    await expect(uploadFile(job, stepContext({ request, uploader: u, runs }))).rejects.toMatchObject({ code: 'run-ended', kind: 'fatal' });
    expect(published).not.toHaveBeenCalled();
  });

  it('does not rename it once the run was cancelled', async () => {
    const { published, uploader: u } = uploader();
    const { job } = fakeJob('upload-file');
    const { runs } = fakeRuns(request, { cancelledAt: '2026-01-01T00:00:00Z' });
    await expect(uploadFile(job, stepContext({ request, uploader: u, runs }))).rejects.toMatchObject({ code: 'cancelled' });
    expect(published).not.toHaveBeenCalled();
  });
});
