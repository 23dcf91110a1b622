import { randomUUID } from 'node:crypto';
import { el, textOf, type XmlNode } from '../../sfmc/xml.js';
import { child, children, xsiTypeOf } from '../envelope.js';
import { toNode, withApiField } from '../objects.js';
import { createResponse, overallStatusOf } from '../responses.js';
import { listSubscribers } from '../sends.js';
import type { ImportDefinitionState } from '../types.js';
import type { OperationContext, OperationOutcome } from './context.js';

type Parsed = Record<string, unknown>;

interface Outcome {
  ok: boolean;
  message: string;
  errorCode?: number;
  newId: string;
  newObjectId?: string;
  object: Parsed;
}

/** Create: each `Objects` element gets one `Results` in order; OverallStatus sums them up. */
export function handleCreate(ctx: OperationContext, msg: unknown): OperationOutcome {
  let committed = false;
  const results = children(msg, 'Objects').map((obj, ordinal) => {
    const outcome = createOne(ctx, asParsed(obj));
    committed ||= outcome.ok;
    return createResult(outcome, ordinal);
  });
  const body = createResponse(results, ctx.store.newRequestId());
  return { body, overallStatus: overallStatusOf(results), committed };
}

function asParsed(value: unknown): Parsed {
  return value && typeof value === 'object' ? (value as Parsed) : {};
}

function createOne(ctx: OperationContext, obj: Parsed): Outcome {
  const type = xsiTypeOf(obj);
  if (type === 'ImportDefinition') return createImportDefinition(ctx, obj);
  if (type === 'Send') return createSend(ctx, obj);
  // Documented code 5: "Cannot perform {method} on objects of type {object}" (0_99 error page).
  return fail(obj, 5, `Cannot perform Create on objects of type ${type ?? '(no xsi:type)'}`);
}

function fail(object: Parsed, errorCode: number, message: string): Outcome {
  return { ok: false, message, errorCode, newId: '0', object };
}

/** `CreateResult` in schema order: Result's fields, then NewID, NewObjectID, Object. */
function createResult(o: Outcome, ordinal: number): XmlNode {
  const [object] = toNode('Object', o.object);
  return el('Results', [
    el('StatusCode', o.ok ? 'OK' : 'Error'),
    el('StatusMessage', o.message),
    el('OrdinalID', ordinal),
    o.errorCode === undefined ? undefined : el('ErrorCode', o.errorCode),
    el('NewID', o.newId),
    o.newObjectId === undefined ? undefined : el('NewObjectID', o.newObjectId),
    object,
  ]);
}

function createImportDefinition(ctx: OperationContext, obj: Parsed): Outcome {
  const customerKey = textOf(obj['CustomerKey']);
  // 43000-43999 are the ImportDefinition codes (docs 43000_43999_importdefinition_object).
  if (!customerKey) return fail(obj, 43000, 'Customer Key Not Specified');
  if (ctx.store.importDefinitions.has(customerKey)) {
    // 43030 "ImportDefinition Exists" (43000-43999 page) or 1 "Name already exists" (0-99 page,
    // "the partner key is already used in the account"): SFMC documents both; which one an
    // account answers is UNVERIFIED, so SandboxOptions.duplicateKeyErrorCode chooses.
    if (ctx.duplicateKeyErrorCode === 1) return fail(obj, 1, 'Name already exists');
    return fail(obj, 43030, 'ImportDefinition Exists');
  }
  const dest = child(obj, 'DestinationObject');
  const destType = xsiTypeOf(dest) ?? 'List';
  if (destType !== 'List') {
    return fail(obj, 43020, `The sandbox imports only into Lists, not into ${destType}`);
  }
  const listId = textOf(child(dest, 'ID'));
  // 13000-13099 are the List codes: 13001 List ID Not Specified, 13004 Unknown List ID.
  if (!listId) return fail(obj, 13001, 'List ID Not Specified');
  if (!ctx.store.lists.has(listId)) return fail(obj, 13004, `Unknown List ID: ${listId}`);

  const objectId = randomUUID();
  const stored = withApiField(obj, 'ObjectID', objectId);
  const headerLines = Number.parseInt(textOf(obj['HeaderLines']) ?? '', 10);
  const delimiter = textOf(obj['Delimiter']);
  const emailSource = emailSourceOf(obj);
  ctx.store.importDefinitions.set(customerKey, {
    customerKey,
    objectId,
    name: textOf(obj['Name']),
    listId,
    fileSpec: textOf(obj['FileSpec']),
    fileType: textOf(obj['FileType']),
    headerLines: Number.isNaN(headerLines) ? undefined : headerLines,
    ...(delimiter ? { delimiter } : {}),
    ...(emailSource ? { emailSource } : {}),
    createdAt: ctx.now,
    object: stored,
  });
  // NewID 0 and the new ObjectID in NewObjectID: exactly the docs' sample response.
  return { ok: true, message: 'ImportDefinition created.', newId: '0', newObjectId: objectId, object: stored };
}

/** The FieldMap whose DestinationName is `Email Address`: by SourceOrdinal or SourceName. */
function emailSourceOf(obj: Parsed): ImportDefinitionState['emailSource'] {
  for (const map of children(child(obj, 'FieldMaps'), 'FieldMap')) {
    if (textOf(child(map, 'DestinationName'))?.trim().toLowerCase() !== 'email address') continue;
    const ordinal = Number.parseInt(textOf(child(map, 'SourceOrdinal')) ?? '', 10);
    if (!Number.isNaN(ordinal)) return { ordinal };
    const name = textOf(child(map, 'SourceName'));
    if (name) return { name };
  }
  return undefined;
}

function createSend(ctx: OperationContext, obj: Parsed): Outcome {
  // 7000-7099 are the Send codes. 7001 is "no email ID"; for an email id that does not exist the
  // closest documented one is 7007 "unable to load email" (what real SFMC answers is UNVERIFIED).
  const emailId = textOf(child(child(obj, 'Email'), 'ID'));
  if (!emailId) return fail(obj, 7001, 'Email ID not specified');
  if (!ctx.store.emails.has(emailId)) return fail(obj, 7007, `Unable to load email ${emailId}`);
  const listIds = children(obj, 'List')
    .map((l) => textOf(child(l, 'ID')))
    .filter((id): id is string => Boolean(id));
  // 7002 is "no list"; an unknown list id gets the List object's 13004 Unknown List ID (UNVERIFIED
  // which of the two SFMC uses for a Send).
  if (listIds.length === 0) return fail(obj, 7002, 'No list specified for the send');
  const missing = listIds.find((id) => !ctx.store.lists.has(id));
  if (missing) return fail(obj, 13004, `Unknown List ID: ${missing}`);

  const id = ctx.store.newSendId();
  // Sender overrides are stored as given, for tests to read back; SFMC checks a FromAddress against
  // the account's verified domains, which the sandbox does not model (UNVERIFIED which error it gives).
  const sender = Object.fromEntries(
    (['FromAddress', 'FromName', 'Subject'] as const)
      .map((name) => [name.charAt(0).toLowerCase() + name.slice(1), textOf(child(obj, name))] as const)
      .filter(([, v]) => v !== undefined),
  );
  ctx.store.sends.push({
    id,
    emailId,
    listId: listIds[0] ?? '',
    listIds,
    createdAt: ctx.now,
    ...sender,
    subscribers: listSubscribers(ctx.store, listIds, ctx.now),
    statusChecks: 0,
    behaviour: ctx.store.sendBehaviour(),
  });
  // "Created <Type>." follows the recorded "Created Subscriber." message; the Send wording is UNVERIFIED.
  return { ok: true, message: 'Created Send.', newId: id, object: withApiField(obj, 'ID', id) };
}
