import { z } from 'zod';
import type { ActiveFaultRule, FaultKind, FaultOperation, FaultRule, FaultsApi } from './types.js';

/**
 * Fault injection. A rule counts the calls that match it (operation, and objectType when given)
 * from the moment it is added, and fires on calls onCall .. onCall+times-1. Only calls that got
 * past transport checks, authentication and schema validation are matched: an injected fault
 * stands in for SFMC failing a request it would otherwise have served.
 *
 * Kinds:
 *   server-fault       HTTP 500 soap:Server with detail/apifault Code (2 unless apiFaultCode).
 *   client-fault       HTTP 500 soap:Client.
 *   html-502           text/html 502 page from "the gateway"; with afterCommit the operation runs first.
 *   delay              the operation runs and commits, the answer waits delayMs (for client timeouts).
 *   reset              the socket is reset before anything runs: nothing committed.
 *   token-expired      Security fault `Token Expired` although the token is valid.
 *   throttle           HTTP 500 text/xml with SFMC's documented throttling envelope: WS-Addressing
 *                      fault action, wsse:Security timestamp, soap:Server fault `Rate Limited`,
 *                      apifault Code 17 (the "Sample HTTP 500 Error Payload" of the Rate Limiting
 *                      page, 2017 edition: developer.salesforce.com/docs/atlas.en-us.noversion.
 *                      mc-apis.meta/mc-apis/rate-limiting.htm). `bare: true` answers the old guess
 *                      instead, an empty text/plain 500, for clients that must survive both.
 *   db-timeout         Retrieve only: HTTP 200 with OverallStatus `Error: Timeout expired. ...`, SQL
 *                      Server's command-timeout text, as SFMC returned it in FuelSDK-PHP issue #129.
 *   db-deadlock        Retrieve only: HTTP 200 with OverallStatus `Error: Transaction (Process ID n)
 *                      was deadlocked ... Rerun the transaction.` (SQL Server's deadlock-victim text;
 *                      SFMC passing it through is reported in segmentio/action-destinations PR #3967).
 *   drop-after-commit  the operation runs and commits, then the socket is destroyed unanswered.
 * For the `token` operation: server-fault (500 JSON), html-502, delay, reset, throttle,
 * drop-after-commit.
 * For the `sftp` operation (each file opened for writing on the SFTP server counts as one call):
 * reset, which cuts the connection once `afterBytes` bytes of that file were written; hold, which
 * leaves that file's writes unanswered until the rule is removed (or the rules cleared), then
 * serves them in order: an upload a test keeps in progress for as long as it needs, no clock involved.
 */

const KINDS = [
  'server-fault',
  'client-fault',
  'html-502',
  'delay',
  'reset',
  'token-expired',
  'throttle',
  'drop-after-commit',
  'db-timeout',
  'db-deadlock',
  'hold',
] as const satisfies readonly FaultKind[];

const TOKEN_KINDS: readonly FaultKind[] = ['server-fault', 'html-502', 'delay', 'reset', 'throttle', 'drop-after-commit'];

export const faultRuleSchema = z
  .object({
    operation: z.enum(['Create', 'Retrieve', 'Perform', 'Delete', 'token', 'sftp']),
    objectType: z.string().min(1).optional(),
    onCall: z.number().int().min(1).optional(),
    times: z.number().int().min(1).optional(),
    kind: z.enum(KINDS),
    delayMs: z.number().int().min(0).max(600_000).optional(),
    apiFaultCode: z.union([z.literal(1), z.literal(2), z.literal(9), z.literal(11)]).optional(),
    afterCommit: z.boolean().optional(),
    faultString: z.string().min(1).optional(),
    afterBytes: z.number().int().min(0).optional(),
    bare: z.boolean().optional(),
  })
  .strict()
  .refine((r) => r.kind !== 'delay' || r.delayMs !== undefined, { message: 'a delay rule needs delayMs' })
  .refine((r) => r.operation !== 'token' || TOKEN_KINDS.includes(r.kind), {
    message: `the token endpoint supports only ${TOKEN_KINDS.join(', ')}`,
  })
  .refine((r) => r.operation !== 'token' || r.objectType === undefined, { message: 'token rules have no objectType' })
  .refine((r) => r.operation !== 'sftp' || ((r.kind === 'reset' || r.kind === 'hold') && r.objectType === undefined), {
    message: 'sftp rules support only kinds reset (with afterBytes) and hold, and no objectType',
  })
  .refine((r) => r.kind !== 'hold' || r.operation === 'sftp', { message: 'hold is for sftp rules' })
  .refine((r) => r.afterBytes === undefined || (r.operation === 'sftp' && r.kind === 'reset'), { message: 'afterBytes is for sftp reset rules' })
  .refine((r) => !(r.kind === 'db-timeout' || r.kind === 'db-deadlock') || r.operation === 'Retrieve', {
    message: 'db-timeout and db-deadlock answer a Retrieve status, so they are for Retrieve rules only',
  })
  .refine((r) => r.bare === undefined || r.kind === 'throttle', { message: 'bare is for throttle rules' });

export class FaultRuleError extends Error {
  override name = 'FaultRuleError';
}

/** Throws FaultRuleError with every problem of an invalid rule. */
export function parseFaultRule(input: unknown): FaultRule {
  const parsed = faultRuleSchema.safeParse(input);
  if (!parsed.success) {
    throw new FaultRuleError(parsed.error.issues.map((i) => `${i.path.join('.') || 'rule'}: ${i.message}`).join('; '));
  }
  return parsed.data;
}

export class FaultInjector implements FaultsApi {
  private rules: ActiveFaultRule[] = [];
  private nextId = 1;
  /** What waits for a rule to go (`hold`): resolved by remove and clear. */
  private waiting = new Map<string, (() => void)[]>();

  inject(rule: FaultRule): string {
    const valid = parseFaultRule(rule);
    const id = `fault-${this.nextId++}`;
    this.rules.push({ ...valid, id, seen: 0, fired: 0 });
    return id;
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    this.wake(id);
    return this.rules.length !== before;
  }

  clear(): void {
    this.rules = [];
    for (const id of [...this.waiting.keys()]) this.wake(id);
  }

  /** Resolves once rule `id` is no longer active (at once when it is not). */
  removed(id: string): Promise<void> {
    if (!this.rules.some((r) => r.id === id)) return Promise.resolve();
    return new Promise((resolve) => this.waiting.set(id, [...(this.waiting.get(id) ?? []), resolve]));
  }

  private wake(id: string): void {
    for (const resolve of this.waiting.get(id) ?? []) resolve();
    this.waiting.delete(id);
  }

  list(): ActiveFaultRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  /**
   * Counts this call against every matching rule and returns the first rule that fires. Every
   * matching rule counts the call, so each rule's onCall stays "the Nth call since I was added"
   * whatever other rules do.
   */
  match(operation: FaultOperation, objectType: string | undefined): ActiveFaultRule | undefined {
    let firing: ActiveFaultRule | undefined;
    for (const rule of this.rules) {
      if (rule.operation !== operation) continue;
      if (rule.objectType !== undefined && rule.objectType !== objectType) continue;
      rule.seen += 1;
      const first = rule.onCall ?? 1;
      const last = first + (rule.times ?? 1) - 1;
      if (!firing && rule.seen >= first && rule.seen <= last) firing = rule;
    }
    if (firing) firing.fired += 1;
    return firing;
  }
}

/** Messages for the documented apifault codes (soap_faults page); the wording is UNVERIFIED except code 2's meaning. */
export const API_FAULT_MESSAGES: Record<number, string> = {
  1: 'Synchronous API calls are not possible at this time; resubmit the request asynchronously or later',
  2: 'An unexpected error occurred',
  9: 'The system is in maintenance',
  11: 'User does not have permission to use the API',
};

/** apifault Code and text of SFMC's documented throttling fault (Rate Limiting page sample). */
export const RATE_LIMITED = { code: 17, message: 'Rate Limited' } as const;

/** The OverallStatus texts of the db-timeout and db-deadlock kinds (sources in the header comment). */
export const DATABASE_STATUS = {
  'db-timeout': 'Error: Timeout expired.  The timeout period elapsed prior to completion of the operation or the server is not responding.',
  'db-deadlock':
    'Error: Transaction (Process ID 71) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.',
} as const;
