import { describe, expect, it } from 'vitest';
import { parseEnvelope } from '../../src/sfmc/envelope.js';
import { readRetrieveResponse, toSendStatus } from '../../src/sfmc/responses.js';
import { isFailedSendStatus, isFinalSendStatus, NO_SEND_COUNTS, toDelivery } from '../../src/sfmc/send-status.js';
import { fixture } from './support.js';

const body = (name: string) => parseEnvelope(200, 'text/xml; charset=utf-8', fixture(name));

describe('telling a final Send status', () => {
  it.each(['Complete', 'complete', ' Complete '])('%j is final and not a failure', (status) => {
    expect(isFinalSendStatus(status)).toBe(true);
    expect(isFailedSendStatus(status)).toBe(false);
  });

  it.each(['Canceled', 'Cancelled', 'Error', 'Stopped'])('%j is final and a failure', (status) => {
    expect(isFinalSendStatus(status)).toBe(true);
    expect(isFailedSendStatus(status)).toBe(true);
  });

  // SFMC documents no list of Send statuses: anything else keeps the run polling until its deadline.
  it.each(['Sending', 'Scheduled', 'Paused', 'Queued', 'Building', '', undefined])('%j is not final', (status) => {
    expect(isFinalSendStatus(status)).toBe(false);
    expect(isFailedSendStatus(status)).toBe(false);
  });
});

describe('parsing a Send status check', () => {
  const page = readRetrieveResponse(body('retrieve-send-status.response.xml').value);

  it('reads counts as numbers and SentDate (CST, no offset) as an instant', () => {
    expect(toSendStatus(page.results[0]!)).toEqual({
      id: '88001',
      status: 'Complete',
      // 04:20:01.553 CST is 10:20:01.553 UTC.
      sentAt: Date.parse('2024-05-14T10:20:01.553Z'),
      numberSent: 406,
      numberDelivered: 400,
      hardBounces: 3,
      softBounces: 2,
      otherBounces: 1,
      unsubscribes: 4,
      uniqueOpens: 120,
      uniqueClicks: 17,
    });
  });

  it('reads a Send still going out: nil counts are 0 and there is no SentDate', () => {
    expect(toSendStatus(page.results[1]!)).toEqual({
      id: '88002',
      status: 'Sending',
      ...NO_SEND_COUNTS,
    });
  });

  it('keeps a SentDate it cannot read as text instead of guessing an instant', () => {
    const record = toSendStatus({ ID: '1', Status: 'Complete', SentDate: 'yesterday' });
    expect(record).toMatchObject({ sentDateText: 'yesterday' });
    expect(record).not.toHaveProperty('sentAt');
  });

  it('skips a row without an ID', () => {
    expect(toSendStatus({ Status: 'Complete' })).toBeUndefined();
  });
});

describe("building a run's delivery from a status check", () => {
  it('has every delivery field, numbers as numbers and the SentDate in ISO UTC', () => {
    const page = readRetrieveResponse(body('retrieve-send-status.response.xml').value);
    expect(toDelivery(toSendStatus(page.results[0]!)!)).toEqual({
      status: 'Complete',
      sentDate: '2024-05-14T10:20:01.553Z',
      numberSent: 406,
      numberDelivered: 400,
      hardBounces: 3,
      softBounces: 2,
      otherBounces: 1,
      unsubscribes: 4,
      uniqueOpens: 120,
      uniqueClicks: 17,
    });
    expect(toDelivery(toSendStatus(page.results[1]!)!).sentDate).toBeNull();
  });
});
