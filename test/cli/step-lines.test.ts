import { describe, expect, it } from 'vitest';
import { toRunView, type StepView } from '../../src/api/runs-page/view.js';
import { progressBar, stepLine, StepLines } from '../../src/cli/step-lines.js';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, out: { isTTY, write: (t: string) => chunks.push(t) } };
}

const upload = (bytes: number, state = 'active'): StepView => ({ step: 'upload-file', state, attempts: 0, upload: { bytes, totalBytes: 1000, rows: bytes / 10 } });
const poll = (polls: number): StepView => ({ step: 'poll-import', state: 'delayed', attempts: 0, polls, outcome: 'SFMC says Processing; checking again' });

describe('step lines', () => {
  it('draws a progress bar from bytes done and total', () => {
    expect(progressBar(0, 1000, 10)).toBe('[----------]   0%');
    expect(progressBar(455, 1000, 10)).toBe('[#####-----]  45%');
    expect(progressBar(1000, 1000, 10)).toBe('[##########] 100%');
    expect(progressBar(5, 0, 10)).toBe('[----------]   0%');
  });

  it('says each state in words: the upload in bytes and rows, a poll with its count, a failure with its attempts', () => {
    expect(stepLine(upload(450))).toBe('  upload-file: [#########-----------]  45% 450 of 1,000 bytes, 45 rows');
    expect(stepLine(poll(3))).toBe('  poll-import: polling, polls 3, SFMC says Processing; checking again');
    expect(stepLine({ step: 'send', state: 'completed', attempts: 1, outcome: 'Send 7 created' })).toBe('  send: done: Send 7 created');
    expect(stepLine({ step: 'resolve-list', state: 'failed', attempts: 1, outcome: 'list-not-found: no List' })).toBe('  resolve-list: failed after 1 attempt: list-not-found: no List');
    // An upload waiting for its remote file name, as toRunView describes it.
    const waiting = toRunView({ runId: 'b', state: 'running', steps: [{ step: 'upload-file', state: 'delayed', attemptsMade: 0, progress: { waitingForFileName: 'daily.csv', heldByRun: 'a' } }] }, undefined).steps[0] as StepView;
    expect(stepLine(waiting)).toBe('  upload-file: delayed, waiting for daily.csv: run a owns that file name until its import has read its file');
  });

  it('redraws the block in place on a terminal: cursor up over the last block, clear, write', () => {
    const { chunks, out } = sink(true);
    const lines = new StepLines(out);
    lines.render([upload(100), poll(0)]);
    lines.render([upload(900), poll(1)]);
    expect(chunks[0]).not.toContain('\x1b[');
    expect(chunks[1]!.startsWith('\x1b[2F\x1b[J')).toBe(true);
    expect(chunks[1]).toContain('900 of 1,000 bytes');
    expect(chunks[1]!.split('\n')).toHaveLength(3);
  });

  it('prints plain lines only when they say something new, the upload in 10 % steps', () => {
    const { chunks, out } = sink(false);
    const lines = new StepLines(out);
    const waiting: StepView = { step: 'send', state: 'waiting-children', attempts: 0 };
    lines.render([upload(100), poll(0), waiting]);
    lines.render([upload(150), poll(0), waiting]);
    lines.render([upload(210), poll(1), waiting]);
    expect(chunks.join('')).not.toContain('\x1b[');
    expect(chunks).toEqual([
      '  upload-file: [##------------------]  10% 100 of 1,000 bytes, 10 rows\n',
      '  poll-import: polling, polls 0, SFMC says Processing; checking again\n',
      '  upload-file: [####----------------]  21% 210 of 1,000 bytes, 21 rows\n',
      '  poll-import: polling, polls 1, SFMC says Processing; checking again\n',
    ]);
  });
});
