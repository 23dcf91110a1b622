import { describe, expect, it } from 'vitest';
import type { RunStatus } from '../../src/client.js';
import { parseListSendRequest } from '../../src/request.js';
import { matchesFilter } from '../../src/api/runs-page/data.js';
import { accountOf, cancellable, describeOutcome, toRunView } from '../../src/api/runs-page/view.js';
import { seedRequest } from '../helpers/requests.js';

const status = (state: RunStatus['state'], steps: RunStatus['steps'], extra: Partial<RunStatus> = {}): RunStatus => ({ runId: 'nightly-2026-12-01T040000Z', state, steps, ...extra });

describe('what the runs pages make of a run', () => {
  it('shows an uploaded file by its name only, never its folder', () => {
    const request = parseListSendRequest({ ...seedRequest({ runId: 'r1' }), file: { path: '/srv/uploads/secret-team/members.csv' } });
    const view = toRunView(status('waiting', []), request);
    expect(view.file).toBe('members.csv');
    expect(JSON.stringify(view)).not.toContain('/srv/uploads');
  });

  it("reads the request's account when it has one, else the default", () => {
    const request = parseListSendRequest(seedRequest({ runId: 'r2' }));
    expect(accountOf(request)).toBe('default');
    expect(accountOf({ ...request, account: 'emea' } as typeof request)).toBe('emea');
  });

  it('offers Cancel while the Send has not started, as DELETE /v1/list-sends allows', () => {
    expect(cancellable(status('running', [{ step: 'send', state: 'waiting-children', attemptsMade: 0 }]))).toBe(true);
    expect(cancellable(status('running', [{ step: 'send', state: 'active', attemptsMade: 1 }]))).toBe(false);
    for (const end of ['completed', 'failed', 'cancelled'] as const) expect(cancellable(status(end, []))).toBe(false);
  });

  it("splits a failed run's error into the step and the one-line reason", () => {
    const view = toRunView(
      status('failed', [{ step: 'resolve-list', state: 'failed', attemptsMade: 1, error: 'list-not-found: no List named "X"' }], { error: 'resolve-list: list-not-found: no List named "X"' }),
      undefined,
    );
    expect(view.failure).toEqual({ step: 'resolve-list', reason: 'list-not-found: no List named "X"' });
  });

  it("says a step's result in words, and a polling step's last SFMC status while it waits", () => {
    expect(describeOutcome({ step: 'poll-import', state: 'completed', attemptsMade: 1, result: { importStatus: 'Completed', numberSuccessful: 1200, totalRows: 1250, numberErrors: 50, numberDuplicated: 3 } })).toBe(
      'import Completed: 1,200 of 1,250 rows imported, 50 errors, 3 duplicates',
    );
    expect(describeOutcome({ step: 'poll-import', state: 'delayed', attemptsMade: 0, progress: { polls: 2, status: 'Processing' } })).toBe('SFMC says Processing; checking again');
    expect(describeOutcome({ step: 'upload-file', state: 'delayed', attemptsMade: 0, progress: { waitingForFileName: 'daily.csv', heldByRun: 'run-7' } })).toBe(
      'waiting for daily.csv: run run-7 owns that file name until its import has read its file',
    );
    expect(describeOutcome({ step: 'send', state: 'failed', attemptsMade: 3, error: 'send-failed: x' })).toBe('send-failed: x');
    // A parent's BullMQ message names the Redis key; the page names the step.
    expect(describeOutcome({ step: 'create-import', state: 'failed', attemptsMade: 1, error: 'child {t-x-1a2b}:resolve-list:r-resolve-list failed' })).toBe(
      'not finished: resolve-list failed before it',
    );
  });

  it('filters by state, account, schedule or trigger name (runId prefix), and runId or List text', () => {
    const view = toRunView(status('completed', []), parseListSendRequest(seedRequest({ runId: 'nightly-2026-12-01T040000Z', list: { name: 'Newsletter_EMEA' } })));
    expect(matchesFilter(view, { state: 'completed', account: 'default', source: 'nightly', search: 'emea' })).toBe(true);
    expect(matchesFilter(view, { search: '2026-12-01' })).toBe(true);
    expect(matchesFilter(view, { state: 'failed' })).toBe(false);
    expect(matchesFilter(view, { account: 'emea' })).toBe(false);
    expect(matchesFilter(view, { source: 'night' })).toBe(false);
    expect(matchesFilter(view, { search: 'apac' })).toBe(false);
  });
});
