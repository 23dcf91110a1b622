import { LIST_SEND_OPERATIONS } from './list-send-operations.js';
import { createSoapCalls, type SfmcClientOptions, type SoapCalls } from './soap-calls.js';
import type { SfmcApi } from './types.js';

/**
 * The SOAP client: the chokepoint and the four SOAP operations (soap-calls.ts), and the list-send
 * operations written over them (list-send-operations.ts). Adding an operation is a method on
 * SfmcApi and one entry in LIST_SEND_OPERATIONS; nothing here changes.
 */

export type { CallEvent, RetrieveResult, SfmcClientOptions, SoapAction } from './soap-calls.js';

export interface SfmcClient extends SfmcApi, SoapCalls {}

/** Every list-send operation bound to one set of SOAP calls. */
function bindOperations(calls: SoapCalls): SfmcApi {
  const bound: Record<string, unknown> = {};
  for (const [name, operation] of Object.entries(LIST_SEND_OPERATIONS) as [string, (calls: SoapCalls, ...args: unknown[]) => unknown][]) {
    bound[name] = (...args: unknown[]) => operation(calls, ...args);
  }
  return bound as unknown as SfmcApi;
}

export function createSfmcClient(options: SfmcClientOptions): SfmcClient {
  const calls = createSoapCalls(options);
  return { ...calls, ...bindOperations(calls) };
}
