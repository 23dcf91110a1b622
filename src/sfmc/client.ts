import type { CallClass } from './budget.js';
import { LIST_SEND_OPERATIONS } from './list-send-operations.js';
import { createSoapCalls, type SfmcClientOptions, type SoapCalls } from './soap-calls.js';
import type { CallOptions, SfmcApi } from './types.js';

/**
 * The SOAP client: the chokepoint and the four SOAP operations (soap-calls.ts), and the list-send
 * operations written over them (list-send-operations.ts). Adding an operation is a method on
 * SfmcApi and one entry in LIST_SEND_OPERATIONS; nothing here changes.
 */

export type { CallEvent, RetrieveResult, SfmcClientOptions, SoapAction } from './soap-calls.js';

export interface SfmcClient extends SfmcApi, SoapCalls {
  /** The same client with every call charged to `callClass` (budget.ts). */
  inCallClass(callClass: CallClass): SfmcApi;
}

/** Every list-send operation bound to one set of SOAP calls. */
function bindOperations(calls: SoapCalls): SfmcApi {
  const bound: Record<string, unknown> = {};
  for (const [name, operation] of Object.entries(LIST_SEND_OPERATIONS) as [string, (calls: SoapCalls, ...args: unknown[]) => unknown][]) {
    bound[name] = (...args: unknown[]) => operation(calls, ...args);
  }
  return bound as unknown as SfmcApi;
}

/**
 * The four SOAP calls with every call's class set. The class travels in each call's options, not in
 * an AsyncLocalStorage around the step: on Node 20 an active AsyncLocalStorage turns on promise
 * hooks for the whole process, and every promise of BullMQ, ioredis and undici paid for them
 * (bench item 1: about an eighth of the pipeline's CPU per run).
 */
function callsInClass(calls: SoapCalls, callClass: CallClass): SoapCalls {
  return {
    ...calls,
    retrieve: (spec, opts) => calls.retrieve(spec, inClass(opts, callClass)),
    create: (objects, opts) => calls.create(objects, inClass(opts, callClass)),
    perform: (action, definitions, opts) => calls.perform(action, definitions, inClass(opts, callClass)),
    delete: (objects, opts) => calls.delete(objects, inClass(opts, callClass)),
  };
}

/**
 * The call's options with its class set, written field by field: on Node 20 a spread followed by
 * more fields (`{ ...opts, callClass }`) takes V8's slow path, 1 to 3 µs each, at every call.
 * A field added to CallOptions must be copied here too.
 */
function inClass(opts: CallOptions | undefined, callClass: CallClass): CallOptions {
  return opts?.signal ? { signal: opts.signal, callClass } : { callClass };
}

export function createSfmcClient(options: SfmcClientOptions): SfmcClient {
  const calls = createSoapCalls(options);
  return { ...calls, ...bindOperations(calls), inCallClass: (callClass) => bindOperations(callsInClass(calls, callClass)) };
}

/**
 * The API with its calls charged to `callClass`: a real client's bound view; any other SfmcApi (a
 * test's or the bench's stand-in, which has no budget) as it is.
 */
export function sfmcInCallClass(sfmc: SfmcApi, callClass: CallClass): SfmcApi {
  const client = sfmc as Partial<Pick<SfmcClient, 'inCallClass'>>;
  return typeof client.inCallClass === 'function' ? client.inCallClass(callClass) : sfmc;
}
