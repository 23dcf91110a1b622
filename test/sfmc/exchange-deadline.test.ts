import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { exchangeDeadline } from '../../src/sfmc/http.js';

/** One SOAP exchange's deadline joined with the caller's signal, and what it holds once released. */

describe("an exchange's deadline", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('aborts with a TimeoutError when the time is up, and says the deadline ended it', () => {
    const deadline = exchangeDeadline(1_000);
    vi.advanceTimersByTime(999);
    expect(deadline.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(deadline.signal.aborted).toBe(true);
    expect((deadline.signal.reason as Error).name).toBe('TimeoutError');
    expect(deadline.timedOut()).toBe(true);
  });

  it("aborts with the caller's signal and its reason, not as a timeout", () => {
    const caller = new AbortController();
    const deadline = exchangeDeadline(1_000, caller.signal);
    const reason = new Error('job cancelled');
    caller.abort(reason);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBe(reason);
    expect(deadline.timedOut()).toBe(false);
  });

  it('starts aborted when the caller already gave up', () => {
    const caller = new AbortController();
    caller.abort();
    expect(exchangeDeadline(1_000, caller.signal).signal.aborted).toBe(true);
  });

  it("keeps no timer and no listener on the caller's signal once released", () => {
    const caller = new AbortController();
    const deadline = exchangeDeadline(1_000, caller.signal);
    expect(vi.getTimerCount()).toBe(1);
    deadline.release();
    expect(vi.getTimerCount()).toBe(0);
    caller.abort();
    vi.advanceTimersByTime(2_000);
    expect(deadline.signal.aborted).toBe(false);
  });
});
