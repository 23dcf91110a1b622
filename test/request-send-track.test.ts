import { describe, expect, it } from 'vitest';
import { parseListSendRequest, TRACK_TIMEOUT_DEFAULT_MS, TRACK_TIMEOUT_MAX_MS } from '../src/request.js';
import { seedRequest, requestProblems } from './helpers/requests.js';

/** The request's `send` (sender options for Create Send) and `track` (track-send's deadline) fields. */


describe('the track field', () => {
  it('defaults to tracking for 24 hours', () => {
    // seedRequest turns tracking off for the pipeline tests; a request that says nothing is tracked.
    const { track: _off, ...untracked } = seedRequest();
    expect(parseListSendRequest(untracked).track).toEqual({ timeoutMs: TRACK_TIMEOUT_DEFAULT_MS });
    expect(TRACK_TIMEOUT_DEFAULT_MS).toBe(86_400_000);
    expect(parseListSendRequest(seedRequest({ track: {} })).track).toEqual({ timeoutMs: 86_400_000 });
  });

  it('takes false (the run ends at the Send) and a timeout within bounds', () => {
    expect(parseListSendRequest(seedRequest({ track: false })).track).toBe(false);
    expect(parseListSendRequest(seedRequest({ track: { timeoutMs: 3_600_000 } })).track).toEqual({ timeoutMs: 3_600_000 });
  });

  it.each([
    [{ timeoutMs: 59_999 }, 'track.timeoutMs'],
    [{ timeoutMs: TRACK_TIMEOUT_MAX_MS + 1 }, 'track.timeoutMs'],
    [{ timeoutMs: 1.5e6 + 0.5 }, 'track.timeoutMs'],
    [{ timeoutMs: 60_000, poll: 1 }, 'track'],
  ])('refuses track %j, naming %s', (track, path) => {
    expect(requestProblems(seedRequest({ track })).map((p) => p.path)).toEqual([path]);
  });

  it('refuses true and other values with a message that says what it takes', () => {
    for (const track of [true, 'no', 0]) {
      expect(requestProblems({ ...seedRequest(), track })).toEqual([{ path: 'track', message: 'must be false or { "timeoutMs": ... }' }]);
    }
  });
});

describe('the send field', () => {
  it('is optional, and each of its fields is too', () => {
    expect(parseListSendRequest(seedRequest()).send).toBeUndefined();
    expect(parseListSendRequest(seedRequest({ send: { subject: 'Hi' } })).send).toEqual({ subject: 'Hi' });
  });

  it('keeps the three sender options, trimmed', () => {
    const send = { fromName: ' News & Co ', fromAddress: 'news@example.com', subject: 'Spring <sale>' };
    expect(parseListSendRequest(seedRequest({ send })).send).toEqual({ fromName: 'News & Co', fromAddress: 'news@example.com', subject: 'Spring <sale>' });
  });

  it.each(['news', 'news@example', 'News <news@example.com>', 'a b@example.com', '@example.com'])('refuses fromAddress %j, naming it', (fromAddress) => {
    expect(requestProblems(seedRequest({ send: { fromAddress } }))).toEqual([
      { path: 'send.fromAddress', message: 'must be an email address like news@example.com' },
    ]);
  });

  it('bounds every field and refuses an unknown one, naming each', () => {
    const paths = requestProblems(seedRequest({ send: { fromName: 'n'.repeat(131), fromAddress: `${'a'.repeat(250)}@x.io`, subject: 's'.repeat(201) } })).map((p) => p.path);
    expect(paths.sort()).toEqual(['send.fromAddress', 'send.fromName', 'send.subject']);
    expect(requestProblems({ ...seedRequest(), send: { replyTo: 'x@example.com' } }).map((p) => p.path)).toEqual(['send']);
  });

  it('refuses an empty or control-character value, naming the field', () => {
    expect(requestProblems(seedRequest({ send: { fromName: '  ' } })).map((p) => p.path)).toEqual(['send.fromName']);
    expect(requestProblems(seedRequest({ send: { subject: 'a\u0001b' } })).map((p) => p.path)).toEqual(['send.subject']);
  });
});
