import { describe, expect, it } from 'vitest';
import { ownTask, START_CLOCK_SKEW_MS } from '../../processors/start-import.js';
import type { ImportResultsSummary } from '../../src/sfmc/types.js';

/** Which listed import an unanswered Perform start made: pure, from SFMC's CST StartDates. */

const asked = '2025-03-01T12:00:00.000Z'; // 06:00:00 CST
const row = (taskResultId: string, startDate?: string): ImportResultsSummary => ({
  taskResultId,
  importStatus: 'Completed',
  numberSuccessful: 0,
  numberErrors: 0,
  numberDuplicated: 0,
  totalRows: 0,
  ...(startDate === undefined ? {} : { startDate }),
});

describe('telling this start import from earlier runs of the same ImportDefinition', () => {
  it('takes a task started (CST) after the start was asked for, not one from an hour before', () => {
    const found = [row('1', '2025-03-01T05:00:00'), row('2', '2025-03-01T06:00:01')];
    expect(ownTask(found, { startRequestedAt: asked, tasksBeforeStart: undefined, shared: true })).toBe('2');
  });

  it('reads an unzoned StartDate as CST (06:30 is 12:30Z, after the start) and honours an explicit Z', () => {
    const marker = { startRequestedAt: asked, tasksBeforeStart: undefined, shared: true };
    expect(ownTask([row('1', '2025-03-01T06:30:00')], marker)).toBe('1');
    expect(ownTask([row('1', '2025-03-01T06:30:00Z')], marker)).toBeUndefined();
  });

  it(`allows ${START_CLOCK_SKEW_MS / 1000} s of clock difference, no more`, () => {
    const justInside = row('1', '2025-03-01T05:59:00');
    const outside = row('2', '2025-03-01T05:58:59');
    expect(ownTask([outside, justInside], { startRequestedAt: asked, tasksBeforeStart: undefined, shared: true })).toBe('1');
    expect(ownTask([outside], { startRequestedAt: asked, tasksBeforeStart: undefined, shared: true })).toBeUndefined();
  });

  it('never takes a task listed just before the start, whatever its StartDate', () => {
    expect(ownTask([row('1', '2025-03-01T06:00:05')], { startRequestedAt: asked, tasksBeforeStart: ['1'], shared: true })).toBeUndefined();
  });

  it('with an unreadable StartDate, trusts the list for a shared key and nothing without it', () => {
    const found = [row('1', 'soon'), row('2')];
    expect(ownTask(found, { startRequestedAt: asked, tasksBeforeStart: ['1'], shared: true })).toBe('2');
    expect(ownTask(found, { startRequestedAt: asked, tasksBeforeStart: undefined, shared: true })).toBeUndefined();
    // The derived key is this run's alone: any import of it is this run's.
    expect(ownTask(found, { startRequestedAt: asked, tasksBeforeStart: undefined, shared: false })).toBe('1');
  });

  it('takes the earliest of several new tasks, the one closest to this start', () => {
    const found = [row('3', '2025-03-01T06:05:00'), row('2', '2025-03-01T06:00:02')];
    expect(ownTask(found, { startRequestedAt: asked, tasksBeforeStart: [], shared: true })).toBe('2');
  });
});
