import { textOf, type XmlNode } from '../../sfmc/xml.js';
import { child, children } from '../envelope.js';
import { compileFilter, FilterError } from '../filters.js';
import { retrieveResponse } from '../responses.js';
import type { OperationContext, OperationOutcome } from './context.js';
import { RETRIEVABLES } from './retrievables.js';

/**
 * Retrieve. Failures SFMC reports for a Retrieve (unknown object type, bad property, bad filter)
 * travel in OverallStatus as `Error: <message>` with HTTP 200, not as faults.
 */
export function handleRetrieve(ctx: OperationContext, msg: unknown): OperationOutcome {
  const request = child(msg, 'RetrieveRequest');
  const requestId = ctx.store.newRequestId();
  const answer = (overallStatus: string, results: XmlNode[] = []): OperationOutcome => ({
    body: retrieveResponse(overallStatus, requestId, results),
    overallStatus,
    committed: false,
  });

  const continueId = textOf(child(request, 'ContinueRequest'));
  if (continueId) {
    const cursor = ctx.store.cursors.get(continueId);
    // Real message UNVERIFIED; SFMC keeps continuations for a limited time.
    if (!cursor) return answer(`Error: The ContinueRequest '${continueId}' is unknown or has expired.`);
    ctx.store.cursors.delete(continueId);
    return page(ctx, requestId, cursor.objectType, cursor.remaining, batchSize(ctx, request), answer);
  }

  const objectType = textOf(child(request, 'ObjectType')) ?? '';
  const retrievable = Object.hasOwn(RETRIEVABLES, objectType) ? RETRIEVABLES[objectType] : undefined;
  if (!retrievable) {
    // SFMC's own text for an object type it has no handler for (sfmc-sdk fixture); the sandbox
    // uses it for every type it does not model.
    return answer(
      `Error: Unable to find a handler for object type: ${objectType}. Object types are case-sensitive, check spelling.`,
    );
  }

  const properties = children(request, 'Properties').map((p) => textOf(p) ?? '');
  const unknown = properties.filter((p) => !retrievable.properties.includes(p.split('.')[0] ?? p));
  if (unknown.length > 0) {
    // Prefix seen in the wild (tap-exacttarget matches `Error: The Request Property(s)`); the rest UNVERIFIED.
    return answer(`Error: The Request Property(s) ${unknown.join(', ')} do not match with the fields of ${objectType} retrieve`);
  }

  let predicate;
  try {
    predicate = compileFilter(child(request, 'Filter'), retrievable.filters, objectType, { dateNormalization: ctx.dateNormalization });
  } catch (err) {
    if (err instanceof FilterError) return answer(`Error: ${err.message}`);
    throw err;
  }
  const nodes = retrievable
    .records(ctx)
    .filter(predicate)
    .map((r) => retrievable.render(r, properties, ctx));
  return page(ctx, requestId, objectType, nodes, batchSize(ctx, request), answer);
}

/** SFMC uses the lesser of its page size and Options/BatchSize. */
function batchSize(ctx: OperationContext, request: unknown): number {
  const asked = Number(textOf(child(child(request, 'Options'), 'BatchSize')));
  return Number.isInteger(asked) && asked > 0 ? Math.min(asked, ctx.pageSize) : ctx.pageSize;
}

const MAX_CURSORS = 100;

/** One page; the rest waits under this response's RequestID for a ContinueRequest. */
function page(
  ctx: OperationContext,
  requestId: string,
  objectType: string,
  nodes: XmlNode[],
  size: number,
  answer: (status: string, results: XmlNode[]) => OperationOutcome,
): OperationOutcome {
  if (nodes.length <= size) return answer('OK', nodes);
  ctx.store.cursors.set(requestId, { objectType, remaining: nodes.slice(size) });
  // Abandoned continuations must not grow without bound in a long-running sandbox.
  for (const oldest of ctx.store.cursors.keys()) {
    if (ctx.store.cursors.size <= MAX_CURSORS) break;
    ctx.store.cursors.delete(oldest);
  }
  return answer('MoreDataAvailable', nodes.slice(0, size));
}
