import { describe, expect, it } from 'vitest';
import { pollDelayMs } from '../../processors/poll-import.js';

describe('the delay between polls', () => {
  const poll = { initialDelayMs: 2_000, maxDelayMs: 60_000 };
  it('doubles from initialDelayMs and stops growing at maxDelayMs', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map((n) => pollDelayMs(n, poll))).toEqual([2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });
});
