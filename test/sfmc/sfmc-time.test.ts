import { describe, expect, it } from 'vitest';
import { parseSfmcDate, toSfmcWallClock } from '../../src/sfmc/time.js';

/** SFMC's server clock is CST, UTC-6 all year; src/sfmc/time.ts is the one place that knows it. */

describe('writing a date for SFMC', () => {
  it('writes CST wall clock, six hours behind UTC, without an offset', () => {
    expect(toSfmcWallClock(new Date('2024-05-14T09:00:00Z'))).toBe('2024-05-14T03:00:00');
  });

  it('stays six hours behind in July: SFMC server time has no daylight saving', () => {
    expect(toSfmcWallClock(Date.parse('2024-07-01T05:30:00Z'))).toBe('2024-06-30T23:30:00');
  });

  it('floors to whole seconds, so a lower bound never starts late', () => {
    expect(toSfmcWallClock(Date.parse('2024-05-14T09:00:00.999Z'))).toBe('2024-05-14T03:00:00');
  });

  it('refuses an invalid Date', () => {
    expect(() => toSfmcWallClock(new Date('nope'))).toThrow(/valid Date/);
  });
});

describe('reading a date SFMC wrote', () => {
  it('reads an unzoned date as CST', () => {
    expect(parseSfmcDate('2024-05-14T03:00:00')).toBe(Date.parse('2024-05-14T09:00:00Z'));
    expect(parseSfmcDate('2024-05-14T04:12:30.117')).toBe(Date.parse('2024-05-14T10:12:30.117Z'));
  });

  it('honours an explicit Z or offset', () => {
    expect(parseSfmcDate('2024-05-14T09:00:00Z')).toBe(Date.parse('2024-05-14T09:00:00Z'));
    expect(parseSfmcDate('2024-05-14T12:02:15-06:30')).toBe(Date.parse('2024-05-14T18:32:15Z'));
    expect(parseSfmcDate('2024-05-14T10:00:00+0100')).toBe(Date.parse('2024-05-14T09:00:00Z'));
  });

  it('reads the US form the SFMC UI prints, as CST', () => {
    expect(parseSfmcDate('5/14/2024 3:00:00 AM')).toBe(Date.parse('2024-05-14T09:00:00Z'));
    expect(parseSfmcDate('5/14/2024 12:30:00 PM')).toBe(Date.parse('2024-05-14T18:30:00Z'));
    expect(parseSfmcDate('5/14/2024 12:30:00 AM')).toBe(Date.parse('2024-05-14T06:30:00Z'));
  });

  it('round-trips what it writes', () => {
    const at = Date.parse('2026-12-01T03:08:33Z');
    expect(parseSfmcDate(toSfmcWallClock(at))).toBe(at);
  });

  it('answers undefined, not a guess, for empty or impossible text', () => {
    for (const text of [undefined, '', '  ', 'yesterday', '2023-02-29T00:00:00', '2024-05-14T24:00:00', '13/40/2024 1:00 PM']) {
      expect(parseSfmcDate(text), String(text)).toBeUndefined();
    }
  });
});
