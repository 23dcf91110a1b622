import { describe, expect, it } from 'vitest';
import { DEFAULT_POLL_TIMING, EARLY_CHECKS, POLL_SHARE, pollDelayMs } from '../../processors/poll-schedule.js';
import { parseListSendRequest } from '../../src/request.js';
import { seedRequest } from '../helpers/requests.js';

describe('the delay between polls', () => {
  const poll = { initialDelayMs: 150_000, maxDelayMs: 1_800_000 };

  it('waits initialDelayMs before each of the early checks, whatever the elapsed time', () => {
    expect(EARLY_CHECKS).toBe(2);
    expect([pollDelayMs(0, 0, poll), pollDelayMs(1, 150_000, poll)]).toEqual([150_000, 150_000]);
  });

  it('then waits 9 % of the time since the first visit', () => {
    expect(POLL_SHARE).toBe(0.09);
    expect(pollDelayMs(2, 300_000, poll)).toBe(27_000);
    expect(pollDelayMs(9, 3_600_000, poll)).toBe(324_000);
  });

  it('never waits longer than maxDelayMs', () => {
    expect(pollDelayMs(40, 100 * 3_600_000, poll)).toBe(1_800_000);
    expect(pollDelayMs(0, 0, { initialDelayMs: 5_000, maxDelayMs: 2_000 })).toBe(2_000);
  });

  it('never checks faster than the request allows: the floor is initialDelayMs or 1 s, whichever is smaller', () => {
    expect(pollDelayMs(5, 3_000, { initialDelayMs: 1_000, maxDelayMs: 2_000 })).toBe(1_000);
    expect(pollDelayMs(5, 3_000, { initialDelayMs: 20, maxDelayMs: 50 })).toBe(50);
    expect(pollDelayMs(5, 100, { initialDelayMs: 20, maxDelayMs: 50 })).toBe(20);
  });

  it('treats a clock that went backwards as no time elapsed', () => {
    expect(pollDelayMs(3, -10_000, { initialDelayMs: 1_000, maxDelayMs: 60_000 })).toBe(1_000);
  });

  it('is what a request without poll settings gets', () => {
    const { poll: _omit, ...withoutPoll } = seedRequest();
    const { initialDelayMs, maxDelayMs } = parseListSendRequest(withoutPoll).poll;
    expect({ initialDelayMs, maxDelayMs }).toEqual(DEFAULT_POLL_TIMING);
  });
});
