import type { Logger } from 'pino';
import type { CallRecord } from './types.js';

/**
 * The record of every SOAP and token call, for tests to assert on ("exactly one Create Send").
 * It holds no secrets by construction: no tokens, passwords or bodies are ever put in it.
 */
export class CallLog {
  private records: CallRecord[] = [];
  private seq = 0;

  constructor(
    private readonly now: () => number,
    private readonly logger?: Logger,
    private readonly max = 10_000,
  ) {}

  add(call: Omit<CallRecord, 'seq' | 'time'>): CallRecord {
    const record: CallRecord = { seq: ++this.seq, time: new Date(this.now()).toISOString(), ...call };
    this.records.push(record);
    // A sandbox left running for days must not grow without bound; tests never get near this.
    if (this.records.length > this.max) this.records.splice(0, this.records.length - this.max);
    this.logger?.debug({ call: record }, 'sandbox call');
    return record;
  }

  list(): CallRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  clear(): void {
    this.records = [];
    this.seq = 0;
  }
}
