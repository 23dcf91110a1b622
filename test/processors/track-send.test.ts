import { describe, expect, it } from 'vitest';
import { SEND_NOT_VISIBLE, trackVerdict } from '../../processors/track-send.js';
import type { SendStatusRecord } from '../../src/sfmc/types.js';
import { NO_SEND_COUNTS } from '../../src/sfmc/send-status.js';

const record = (status: string, counts: Partial<SendStatusRecord> = {}): SendStatusRecord => ({
  id: '88001',
  status,
  ...NO_SEND_COUNTS,
  ...counts,
});

const HOUR = 3_600_000;

describe('what one Send status check means for track-send', () => {
  it('ends with the delivery when the Send is Complete', () => {
    const verdict = trackVerdict(record('Complete', { numberSent: 40, numberDelivered: 38, hardBounces: 2, sentAt: Date.parse('2026-12-01T10:00:00Z') }), HOUR, 24 * HOUR);
    expect(verdict).toEqual({
      kind: 'done',
      delivery: {
        status: 'Complete',
        sentDate: '2026-12-01T10:00:00.000Z',
        numberSent: 40,
        numberDelivered: 38,
        hardBounces: 2,
        softBounces: 0,
        otherBounces: 0,
        unsubscribes: 0,
        uniqueOpens: 0,
        uniqueClicks: 0,
      },
    });
  });

  it('fails on a final failure status, carrying what SFMC counted', () => {
    expect(trackVerdict(record('Canceled', { numberSent: 5 }), HOUR, 24 * HOUR)).toMatchObject({ kind: 'failed', delivery: { status: 'Canceled', numberSent: 5 } });
    expect(trackVerdict(record('Error'), 0, 24 * HOUR)).toMatchObject({ kind: 'failed' });
  });

  it('waits while the Send is going out, and while SFMC shows no row for it', () => {
    expect(trackVerdict(record('Sending'), HOUR, 24 * HOUR)).toEqual({ kind: 'wait', status: 'Sending' });
    expect(trackVerdict(undefined, HOUR, 24 * HOUR)).toEqual({ kind: 'wait', status: SEND_NOT_VISIBLE });
  });

  it('keeps waiting on a status SFMC does not document, and names an empty one', () => {
    expect(trackVerdict(record('Throttled'), HOUR, 24 * HOUR)).toEqual({ kind: 'wait', status: 'Throttled' });
    expect(trackVerdict(record(''), HOUR, 24 * HOUR)).toEqual({ kind: 'wait', status: 'Unknown' });
  });

  it('times out at track.timeoutMs when the Send is still not final', () => {
    expect(trackVerdict(record('Sending'), 24 * HOUR, 24 * HOUR)).toEqual({ kind: 'timeout', status: 'Sending' });
    expect(trackVerdict(undefined, 25 * HOUR, 24 * HOUR)).toEqual({ kind: 'timeout', status: SEND_NOT_VISIBLE });
  });

  it('takes a final answer even when it arrives past the deadline', () => {
    expect(trackVerdict(record('Complete'), 25 * HOUR, 24 * HOUR).kind).toBe('done');
  });
});
