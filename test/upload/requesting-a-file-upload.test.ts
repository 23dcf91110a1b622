import { describe, expect, it } from 'vitest';
import { deriveFileSpec, parseListSendRequest, RequestValidationError } from '../../src/request.js';
import { seedRequest } from '../helpers/requests.js';

function withoutFileSpec(overrides: Record<string, unknown> = {}, imp: Record<string, unknown> = {}) {
  const seed = seedRequest({ runId: 'spring-2026', ...overrides });
  const { fileSpec: _none, ...rest } = seed.import;
  return { ...seed, import: { ...rest, ...imp } };
}

function problems(input: unknown): string[] {
  try {
    parseListSendRequest(input);
  } catch (err) {
    if (err instanceof RequestValidationError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

describe('requesting a file upload', () => {
  it('derives a FileSpec unique to the run from the runId and the file name', () => {
    const r = parseListSendRequest(withoutFileSpec({ file: { path: '/data/exports/subscribers.csv' } }));
    expect(r.file).toEqual({ path: '/data/exports/subscribers.csv' });
    expect(r.import.fileSpec).toBe('spring-2026-subscribers.csv');
  });

  it('keeps a given fileSpec as given', () => {
    const r = parseListSendRequest(seedRequest({ runId: 'r1', file: { path: '/data/subscribers.csv' } }));
    expect(r.import.fileSpec).toBe('SAP_List.csv');
  });

  it('requires a fileSpec when there is no file to upload', () => {
    expect(problems(withoutFileSpec())).toEqual(['import.fileSpec: is required unless "file" is given']);
  });

  it('requires an absolute path', () => {
    expect(problems(withoutFileSpec({ file: { path: 'subscribers.csv' } }))).toEqual(["file.path: must be an absolute path on the worker's machine"]);
  });

  it('requires a delimiter to check a file of fileType Other', () => {
    expect(problems(withoutFileSpec({ file: { path: '/d/x.txt' } }, { fileType: 'Other' }))).toEqual([
      'import.delimiter: is required to check a file of fileType Other',
    ]);
  });

  it('keeps derived names within SFMC\'s file-name rules', () => {
    expect(deriveFileSpec('r1', '/in/My List: "Q3" 100%%.csv')).toBe('r1-My_List_Q3_100_.csv');
    expect(deriveFileSpec('r1', 'C:\\exports\\..hidden.csv')).toBe('r1-hidden.csv');
    expect(deriveFileSpec('r1', '/in/***')).toBe('r1-subscribers.csv');
    const long = deriveFileSpec('r'.repeat(80), `/in/${'x'.repeat(300)}.csv`);
    expect(long).toHaveLength(200);
    expect(long.endsWith('.csv')).toBe(true);
    expect(long).not.toMatch(/[\\/:*<>|?"%]/);
  });
});
