import { describe, expect, it, vi } from 'vitest';
import type { UploadFileResult } from '../../queues/catalog.js';
import { uploadFile } from '../../processors/upload-file.js';
import type { SftpUploader, UploadFileOptions } from '../../src/upload/sftp.js';
import { fakeJob, stepContext, unitRequest } from '../helpers/fake-step.js';

/**
 * A retried upload reuses the file an earlier attempt put under the run's name only while that name
 * stayed the run's own (src/worker/file-name.ts): once it was free, another run's file of the same
 * size may be there.
 */

const request = unitRequest({ file: { path: '/uploads/subscribers.csv' }, import: { ...unitRequest().import, fileSpec: 'shared.csv' } });
const earlier: UploadFileResult = { fileSpec: 'shared.csv', remotePath: '/Import/shared.csv', bytes: 120, rows: 3, problems: 0, problemTotals: {}, reused: false };

function uploader() {
  const upload = vi.fn(async (o: UploadFileOptions) => ({ remotePath: '/Import/shared.csv', bytes: 120, reused: o.previous !== undefined }));
  return { upload, uploader: { limits: { maxBytes: 1_000, timeoutMs: 60_000 }, upload } as unknown as SftpUploader };
}

describe("a retried upload and the earlier attempt's file", () => {
  it('reuses it while the run kept its name', async () => {
    const { upload, uploader: u } = uploader();
    const { job } = fakeJob('upload-file', { data: { uploaded: earlier }, attemptsMade: 1 });
    const result = await uploadFile(job, stepContext({ request, uploader: u }));
    expect(upload.mock.calls[0]?.[0].previous).toEqual({ bytes: 120 });
    expect(result.reused).toBe(true);
  });

  it('uploads again when the name had to be taken afresh', async () => {
    const { upload, uploader: u } = uploader();
    const { job } = fakeJob('upload-file', { data: { uploaded: earlier }, attemptsMade: 1 });
    const result = await uploadFile(job, stepContext({ request, uploader: u, fileNameFresh: true }));
    expect(upload.mock.calls[0]?.[0].previous).toBeUndefined();
    expect(result.reused).toBe(false);
  });
});
