import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { configProblems } from '../helpers/config.js';

/** UPLOAD_DIR, UPLOAD_MAX_BYTES and UPLOAD_TIMEOUT_MS (issue #10), UPLOAD_MAX_DISTINCT_EMAILS (issue #14). */

describe('configuring uploads', () => {
  it('defaults to no folder, 5 GiB, 2 hours and 786,432 distinct emails (an 8 MiB table)', () => {
    expect(loadConfig({}).upload).toEqual({ maxBytes: 5 * 1024 ** 3, timeoutMs: 7_200_000, maxDistinctEmails: 786_432 });
  });

  it('reads the folder and the limits', () => {
    expect(loadConfig({ UPLOAD_DIR: '/srv/uploads', UPLOAD_MAX_BYTES: '1000', UPLOAD_TIMEOUT_MS: '60000', UPLOAD_MAX_DISTINCT_EMAILS: '5000000' }).upload).toEqual({
      dir: '/srv/uploads',
      maxBytes: 1000,
      timeoutMs: 60_000,
      maxDistinctEmails: 5_000_000,
    });
  });

  it('refuses a relative folder, a non-positive size and a deadline past 24 h, naming the variable', () => {
    expect(configProblems({ UPLOAD_DIR: 'uploads' })).toEqual(['UPLOAD_DIR: must be an absolute path']);
    expect(configProblems({ UPLOAD_MAX_BYTES: '0' })).toEqual(['UPLOAD_MAX_BYTES: must be positive']);
    expect(configProblems({ UPLOAD_TIMEOUT_MS: '90000000' })).toEqual(['UPLOAD_TIMEOUT_MS: must be at most 86400000 (24 h)']);
    expect(configProblems({ UPLOAD_TIMEOUT_MS: 'soon' })).toEqual(['UPLOAD_TIMEOUT_MS: must be a number']);
    expect(configProblems({ UPLOAD_MAX_DISTINCT_EMAILS: '0' })).toEqual(['UPLOAD_MAX_DISTINCT_EMAILS: must be positive']);
    expect(configProblems({ UPLOAD_MAX_DISTINCT_EMAILS: '60000000' })).toEqual(['UPLOAD_MAX_DISTINCT_EMAILS: must be at most 50331648 (a 512 MiB table)']);
  });
});
