import { el, textOf, type XmlNode } from '../../sfmc/xml.js';
import { children, xsiTypeOf } from '../envelope.js';
import { toNode } from '../objects.js';
import { overallStatusOf } from '../responses.js';
import type { OperationContext, OperationOutcome } from './context.js';

type Parsed = Record<string, unknown>;

/**
 * Delete: each `Objects` element gets one `Results` (DeleteResult: Result's fields, then Object),
 * then RequestID and OverallStatus, the same shape as CreateResponse (partner WSDL,
 * DeleteResponse). The sandbox deletes only ImportDefinitions, by CustomerKey or ObjectID, which
 * the docs list among the objects Delete supports ("Supported Operations for Objects and Methods").
 * An unknown definition gets 43010 "ImportDefinition Not Found" (43000-43999 page). The OK
 * StatusMessage wording is the sandbox's (UNVERIFIED).
 */
export function handleDelete(ctx: OperationContext, msg: unknown): OperationOutcome {
  let committed = false;
  const results = children(msg, 'Objects').map((value, ordinal) => {
    const obj = value && typeof value === 'object' ? (value as Parsed) : {};
    const outcome = deleteOne(ctx, obj);
    committed ||= outcome.ok;
    const [object] = toNode('Object', obj);
    return el('Results', [
      el('StatusCode', outcome.ok ? 'OK' : 'Error'),
      el('StatusMessage', outcome.message),
      el('OrdinalID', ordinal),
      outcome.errorCode === undefined ? undefined : el('ErrorCode', outcome.errorCode),
      object,
    ]);
  });
  const body: XmlNode = el('DeleteResponse', [
    ...results,
    el('RequestID', ctx.store.newRequestId()),
    el('OverallStatus', overallStatusOf(results)),
  ]);
  return { body, overallStatus: overallStatusOf(results), committed };
}

function deleteOne(ctx: OperationContext, obj: Parsed): { ok: boolean; message: string; errorCode?: number } {
  const type = xsiTypeOf(obj);
  // Documented code 5: "Cannot perform {method} on objects of type {object}" (0-99 error page).
  if (type !== 'ImportDefinition') return { ok: false, message: `Cannot perform Delete on objects of type ${type ?? '(no xsi:type)'}`, errorCode: 5 };
  const customerKey = textOf(obj['CustomerKey'])?.trim();
  const objectId = textOf(obj['ObjectID'])?.trim();
  const defs = ctx.store.importDefinitions;
  const key = customerKey || [...defs.values()].find((d) => objectId && d.objectId === objectId)?.customerKey;
  if (!customerKey && !objectId) return { ok: false, message: 'ImportDefinition Customer Key Not Specified', errorCode: 43000 };
  if (!key || !defs.delete(key)) return { ok: false, message: 'ImportDefinition Not Found', errorCode: 43010 };
  return { ok: true, message: 'ImportDefinition deleted.' };
}
