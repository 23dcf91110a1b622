import { badEnvelope, classifyOverallStatus } from './classify.js';
import { parseSfmcDate } from './time.js';
import type { ImportDefinitionRecord, ImportResultsSummary, ListSendRecord, SendRecord, SendStatusRecord, SfmcEmail, SfmcList } from './types.js';
import { textOf } from './xml.js';

/**
 * Pure mappers from parsed response bodies (the Body child's content) to typed records. Each
 * `read*Response` checks OverallStatus first and throws the classifier's error, so a mapper only
 * ever sees a successful reply. Unknown extra elements are ignored: newer WSDLs add fields.
 */

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asArray(v: unknown): Obj[] {
  const list = Array.isArray(v) ? v : v === undefined || v === null || v === '' ? [] : [v];
  return list.filter(isObj);
}

/** Text of a child, undefined when absent, nil or empty. */
function str(obj: unknown, name: string): string | undefined {
  if (!isObj(obj)) return undefined;
  const t = textOf(obj[name])?.trim();
  return t === undefined || t === '' ? undefined : t;
}

/** A path like `Email.ID`. */
function path(obj: unknown, dotted: string): string | undefined {
  const parts = dotted.split('.');
  const last = parts.pop() as string;
  let current: unknown = obj;
  for (const p of parts) {
    const next: unknown = isObj(current) ? current[p] : undefined;
    current = Array.isArray(next) ? next[0] : next;
  }
  return str(current, last);
}

/** Counts are xsd:int; a missing or nil count reads as 0 (SFMC omits zero counts). */
function count(obj: Obj, name: string): number {
  const t = str(obj, name);
  if (t === undefined) return 0;
  const n = Number.parseInt(t, 10);
  return Number.isFinite(n) ? n : 0;
}

/** `xsi:type="List"` or a prefixed `ns1:List`: the local name. */
export function xsiTypeOf(obj: Obj): string | undefined {
  const t = obj['@_type'];
  return typeof t === 'string' ? t.slice(t.lastIndexOf(':') + 1) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Operation-level readers

export interface RetrievePage {
  overallStatus: 'OK' | 'MoreDataAvailable';
  requestId?: string;
  results: Obj[];
}

export function readRetrieveResponse(value: Obj): RetrievePage {
  const error = classifyOverallStatus('Retrieve', value);
  if (error) throw error;
  const overallStatus = str(value, 'OverallStatus') === 'MoreDataAvailable' ? 'MoreDataAvailable' : 'OK';
  return { overallStatus, requestId: str(value, 'RequestID'), results: asArray(value['Results']) };
}

export interface CreateResultRecord {
  statusCode?: string;
  statusMessage?: string;
  ordinalId?: number;
  errorCode?: number;
  /** xsd:int; 0 for objects identified by ObjectID (ImportDefinition), the job ID for a Send. */
  newId?: string;
  newObjectId?: string;
}

export interface CreateOutcome {
  overallStatus: string;
  requestId?: string;
  results: CreateResultRecord[];
}

function optionalInt(obj: Obj, name: string): number | undefined {
  const t = str(obj, name);
  return t !== undefined && /^-?\d+$/.test(t) ? Number.parseInt(t, 10) : undefined;
}

/** The partner API's Result fields every per-object result carries. */
function resultStatus(r: Obj): { statusCode?: string; statusMessage?: string; errorCode?: number } {
  return { statusCode: str(r, 'StatusCode'), statusMessage: str(r, 'StatusMessage'), errorCode: optionalInt(r, 'ErrorCode') };
}

export function readCreateResponse(value: Obj): CreateOutcome {
  const error = classifyOverallStatus('Create', value);
  if (error) throw error;
  return {
    overallStatus: 'OK',
    requestId: str(value, 'RequestID'),
    results: asArray(value['Results']).map((r) => ({
      ...resultStatus(r),
      ordinalId: optionalInt(r, 'OrdinalID'),
      newId: str(r, 'NewID'),
      newObjectId: str(r, 'NewObjectID'),
      // SFMC's echo of the created object (`Object`) is left unparsed (src/sfmc/xml.ts replyParser).
    })),
  };
}

export interface DeleteOutcome {
  overallStatus: string;
  requestId?: string;
  results: { statusCode?: string; statusMessage?: string; errorCode?: number }[];
}

/** DeleteResponse: Results (Result fields + Object), RequestID, OverallStatus, like CreateResponse. */
export function readDeleteResponse(value: Obj): DeleteOutcome {
  const error = classifyOverallStatus('Delete', value);
  if (error) throw error;
  return {
    overallStatus: 'OK',
    requestId: str(value, 'RequestID'),
    results: asArray(value['Results']).map(resultStatus),
  };
}

export interface PerformResultRecord {
  statusCode?: string;
  statusMessage?: string;
  errorCode?: number;
  /** Task/ID: what ImportResultsSummary.TaskResultID is filtered by. */
  taskId?: string;
  taskStatusCode?: string;
  taskStatusMessage?: string;
  interactionObjectId?: string;
}

export interface PerformOutcome {
  overallStatus: string;
  overallStatusMessage?: string;
  requestId?: string;
  results: PerformResultRecord[];
}

/** Note the extra wrapper: PerformResponseMsg/Results/Result[]. */
export function readPerformResponse(value: Obj): PerformOutcome {
  const error = classifyOverallStatus('Perform', value);
  if (error) throw error;
  const wrapper = value['Results'];
  const rows = isObj(wrapper) ? asArray(wrapper['Result']) : [];
  return {
    overallStatus: 'OK',
    overallStatusMessage: str(value, 'OverallStatusMessage'),
    requestId: str(value, 'RequestID'),
    results: rows.map((r) => {
      const task = isObj(r['Task']) ? r['Task'] : {};
      return {
        statusCode: str(r, 'StatusCode'),
        statusMessage: str(r, 'StatusMessage'),
        errorCode: optionalInt(r, 'ErrorCode'),
        taskId: str(task, 'ID'),
        taskStatusCode: str(task, 'StatusCode'),
        taskStatusMessage: str(task, 'StatusMessage'),
        interactionObjectId: str(task, 'InteractionObjectID'),
      };
    }),
  };
}

/** The element a successful reply to each action must carry. */
const RESPONSE_ELEMENTS = {
  Create: 'CreateResponse',
  Retrieve: 'RetrieveResponseMsg',
  Perform: 'PerformResponseMsg',
  Delete: 'DeleteResponse',
} as const;

export function expectResponseElement(operation: keyof typeof RESPONSE_ELEMENTS, name: string): void {
  const expected = RESPONSE_ELEMENTS[operation];
  if (name !== expected) throw badEnvelope(`expected ${expected} in the Body, got ${name}`, { operation });
}

// ---------------------------------------------------------------------------------------------
// Object mappers (one Retrieve `Results` element each)

export function toList(r: Obj): SfmcList | undefined {
  const id = str(r, 'ID');
  if (id === undefined) return undefined;
  const name = str(r, 'ListName');
  return name === undefined ? { id } : { id, name };
}

export function toEmail(r: Obj): SfmcEmail | undefined {
  const id = str(r, 'ID');
  if (id === undefined) return undefined;
  return dropUndefined({ id, name: str(r, 'Name'), subject: str(r, 'Subject') });
}

export function toImportDefinition(r: Obj): ImportDefinitionRecord | undefined {
  const customerKey = str(r, 'CustomerKey');
  if (customerKey === undefined) return undefined;
  return dropUndefined({
    objectId: str(r, 'ObjectID'),
    customerKey,
    name: str(r, 'Name'),
    listId: path(r, 'DestinationObject.ID'),
    fileSpec: str(r, 'FileSpec'),
    fileType: str(r, 'FileType'),
    fieldMappingType: str(r, 'FieldMappingType'),
    updateType: str(r, 'UpdateType'),
  });
}

export function toImportResultsSummary(r: Obj): ImportResultsSummary {
  return dropUndefined({
    taskResultId: str(r, 'TaskResultID'),
    importDefinitionCustomerKey: str(r, 'ImportDefinitionCustomerKey'),
    // Absent status: treat as not known yet rather than inventing a terminal state.
    importStatus: str(r, 'ImportStatus') ?? 'Unknown',
    destinationId: str(r, 'DestinationID'),
    numberSuccessful: count(r, 'NumberSuccessful'),
    numberErrors: count(r, 'NumberErrors'),
    numberDuplicated: count(r, 'NumberDuplicated'),
    totalRows: count(r, 'TotalRows'),
    startDate: str(r, 'StartDate'),
    endDate: str(r, 'EndDate'),
  });
}

export function toSend(r: Obj): SendRecord | undefined {
  const id = str(r, 'ID');
  if (id === undefined) return undefined;
  return dropUndefined({
    id,
    emailId: path(r, 'Email.ID'),
    // Send.List is [0..n]: a send can target several lists.
    listIds: asArray(r['List'])
      .map((l) => str(l, 'ID'))
      .filter((v): v is string => v !== undefined),
    sendDate: str(r, 'SendDate'),
    status: str(r, 'Status'),
  });
}

/** A Send status check's row; undefined without an ID. Counts are numbers, SentDate an instant. */
export function toSendStatus(r: Obj): SendStatusRecord | undefined {
  const id = str(r, 'ID');
  if (id === undefined) return undefined;
  const sentDateText = str(r, 'SentDate');
  const sentAt = parseSfmcDate(sentDateText);
  return dropUndefined({
    id,
    status: str(r, 'Status') ?? '',
    sentAt,
    sentDateText: sentAt === undefined ? sentDateText : undefined,
    numberSent: count(r, 'NumberSent'),
    numberDelivered: count(r, 'NumberDelivered'),
    hardBounces: count(r, 'HardBounces'),
    softBounces: count(r, 'SoftBounces'),
    otherBounces: count(r, 'OtherBounces'),
    unsubscribes: count(r, 'Unsubscribes'),
    uniqueOpens: count(r, 'UniqueOpens'),
    uniqueClicks: count(r, 'UniqueClicks'),
  });
}

/** A ListSend row; undefined when it lacks the SendID or the List's ID (nothing to match on). */
export function toListSend(r: Obj): ListSendRecord | undefined {
  const sendId = str(r, 'SendID');
  const listId = path(r, 'List.ID');
  return sendId === undefined || listId === undefined ? undefined : { sendId, listId };
}

/** Optional fields stay absent rather than present-and-undefined, so records compare cleanly. */
function dropUndefined<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as T;
}
