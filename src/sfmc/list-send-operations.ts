import { badEnvelope } from './classify.js';
import { isSfmcError, SfmcError } from './errors.js';
import { importDefinitionObject, importDefinitionRef, sendObject } from './requests.js';
import { toEmail, toImportDefinition, toImportResultsSummary, toList, toListSend, toSend, toSendStatus } from './responses.js';
import { SEND_STATUS_PROPERTIES } from './send-status.js';
import type { SoapCalls } from './soap-calls.js';
import type { CallOptions, ImportResultsSummary, SfmcApi } from './types.js';

/**
 * The list-send operations (SfmcApi), each a small function over the SOAP calls: it builds a plain
 * request, makes its call(s) and reads the answer. The table is typed by SfmcApi, so an operation
 * added there and not here does not compile; createSfmcClient binds every entry to its calls.
 */
export type Operation<K extends keyof SfmcApi> = (calls: SoapCalls, ...args: Parameters<SfmcApi[K]>) => ReturnType<SfmcApi[K]>;
export type ListSendOperations = { [K in keyof SfmcApi]: Operation<K> };

const IMPORT_RESULTS_PROPERTIES = [
  'ImportDefinitionCustomerKey',
  'ImportType',
  'ImportStatus',
  'DestinationID',
  'NumberSuccessful',
  'NumberErrors',
  'NumberDuplicated',
  'TotalRows',
  'TaskResultID',
  'StartDate',
  'EndDate',
];

// DestinationObject.ID is UNVERIFIED as a retrievable ImportDefinition property (the docs list the
// fields but not which ones Retrieve accepts). If SFMC refuses it, the call fails with a
// result-error "Error: The Request Property(s) ... do not match"; drop it here then.
const IMPORT_DEFINITION_PROPERTIES = [
  'ObjectID',
  'CustomerKey',
  'Name',
  'DestinationObject.ID',
  'FileSpec',
  'FileType',
  'FieldMappingType',
  'UpdateType',
];

// Email's retrievable properties used here are ID, Name and Subject (partner WSDL, type Email:
// APIObject.ID plus Email.Name and Email.Subject); nothing else is needed for the status.
const EMAIL_PROPERTIES = ['ID', 'Name', 'Subject'];

const LIST_PROPERTIES = ['ID', 'ListName'];

/** ErrorCode of a Delete (or Perform) for a definition SFMC does not have (43000-43999 page). */
const IMPORT_DEFINITION_NOT_FOUND = 43010;

// ID, Email.ID and SendDate appear in SFMC's "Retrieve the Scheduled Send Time and Status of a Send"
// sample; Status is a documented Send field (its retrievability is UNVERIFIED). A Send's lists are
// exposed through the ListSend object (SendID filter), so List.ID is not requested: `listIds` is
// filled only when a reply happens to carry List elements.
const SEND_PROPERTIES = ['ID', 'Email.ID', 'SendDate', 'Status'];

// SendID and List.ID are what SFMC's "Retrieve All Lists for a Send" sample requests (with a
// SendID equals filter), and both are ListSend elements in the partner WSDL. The ListSend page:
// "a send to multiple lists ... a ListSend retrieve on the SendID of that send would return
// multiple ListSend objects".
const LIST_SEND_PROPERTIES = ['SendID', 'List.ID'];

async function retrieveImportResultsWhere(calls: SoapCalls, property: string, value: string, opts?: CallOptions): Promise<ImportResultsSummary[]> {
  // QueryAllAccounts follows SFMC's own list-send sample for this object.
  const { results } = await calls.retrieve(
    { objectType: 'ImportResultsSummary', properties: IMPORT_RESULTS_PROPERTIES, filter: { property, operator: 'equals', value }, queryAllAccounts: true },
    opts,
  );
  return results.map(toImportResultsSummary);
}

export const LIST_SEND_OPERATIONS: ListSendOperations = {
  async retrieveListsByName(calls, name, opts) {
    // ListName is not unique: every match is returned and the caller decides.
    const { results } = await calls.retrieve(
      { objectType: 'List', properties: LIST_PROPERTIES, filter: { property: 'ListName', operator: 'equals', value: name } },
      opts,
    );
    return results.map(toList).filter((l) => l !== undefined);
  },

  async retrieveListById(calls, id, opts) {
    const { results } = await calls.retrieve({ objectType: 'List', properties: LIST_PROPERTIES, filter: { property: 'ID', operator: 'equals', value: id } }, opts);
    return results.map(toList).find((l) => l !== undefined);
  },

  async retrieveEmailById(calls, id, opts) {
    const { results } = await calls.retrieve({ objectType: 'Email', properties: EMAIL_PROPERTIES, filter: { property: 'ID', operator: 'equals', value: id } }, opts);
    return results.map(toEmail).find((e) => e !== undefined);
  },

  async createImportDefinition(calls, spec, opts) {
    // A 43030 (CustomerKey exists) arrives here as the classifier's result-error, unchanged.
    const outcome = await calls.create([importDefinitionObject(spec)], opts);
    const objectId = outcome.results[0]?.newObjectId;
    return objectId === undefined ? {} : { objectId };
  },

  async retrieveImportDefinition(calls, customerKey, opts) {
    const { results } = await calls.retrieve(
      { objectType: 'ImportDefinition', properties: IMPORT_DEFINITION_PROPERTIES, filter: { property: 'CustomerKey', operator: 'equals', value: customerKey } },
      opts,
    );
    return results.map(toImportDefinition).find((d) => d !== undefined);
  },

  async deleteImportDefinition(calls, customerKey, opts) {
    try {
      await calls.delete([importDefinitionRef(customerKey)], opts);
      return { deleted: true };
    } catch (err) {
      if (isSfmcError(err) && err.context.errorCode === IMPORT_DEFINITION_NOT_FOUND) return { deleted: false };
      throw err;
    }
  },

  async startImportDefinition(calls, customerKey, opts) {
    const outcome = await calls.perform('start', [importDefinitionRef(customerKey)], opts);
    const taskId = outcome.results[0]?.taskId;
    if (taskId === undefined) {
      // The import may well be running: say so, so the caller looks before starting another.
      throw badEnvelope('Perform start answered OK without a Task ID', { operation: 'Perform' });
    }
    return { taskId };
  },

  async retrieveImportResults(calls, taskId, opts) {
    const rows = await retrieveImportResultsWhere(calls, 'TaskResultID', taskId, opts);
    return rows[0];
  },

  retrieveImportResultsByDefinition(calls, customerKey, opts) {
    return retrieveImportResultsWhere(calls, 'ImportDefinitionCustomerKey', customerKey, opts);
  },

  async createSend(calls, sendSpec, opts) {
    const outcome = await calls.create([sendObject(sendSpec)], opts);
    const sendId = outcome.results[0]?.newId;
    if (sendId === undefined || sendId === '0') {
      // OK without a job id: the send probably exists. Flag it so the caller checks first.
      throw new SfmcError('bad-response', 'Create Send answered OK without a NewID (the job id); the send may exist', {
        kind: 'retryable',
        mayHaveTakenEffect: true,
        context: { operation: 'Create', requestId: outcome.requestId },
      });
    }
    return { sendId };
  },

  async retrieveSendById(calls, id, opts) {
    const { results } = await calls.retrieve({ objectType: 'Send', properties: SEND_PROPERTIES, filter: { property: 'ID', operator: 'equals', value: id } }, opts);
    return results.map(toSend).find((s) => s !== undefined);
  },

  async retrieveSendsByEmail(calls, emailId, since, opts) {
    // UNVERIFIED against real SFMC: that Send is filterable by Email.ID (SFMC's SSJS sample filters
    // Send on it) and by SendDate with greaterThanOrEqual + DateValue (no source found). The
    // bound goes out as CST wall clock (time.ts), right whether or not the account normalizes dates.
    const { results } = await calls.retrieve(
      {
        objectType: 'Send',
        properties: SEND_PROPERTIES,
        filter: {
          left: { property: 'Email.ID', operator: 'equals', value: emailId },
          logicalOperator: 'AND',
          right: { property: 'SendDate', operator: 'greaterThanOrEqual', dateValue: since },
        },
      },
      opts,
    );
    return results.map(toSend).filter((s) => s !== undefined);
  },

  async retrieveListSends(calls, sendId, opts) {
    const { results } = await calls.retrieve(
      { objectType: 'ListSend', properties: LIST_SEND_PROPERTIES, filter: { property: 'SendID', operator: 'equals', value: sendId } },
      opts,
    );
    return results.map(toListSend).filter((l) => l !== undefined);
  },

  async retrieveSendStatus(calls, sendId, opts) {
    const { results } = await calls.retrieve(
      { objectType: 'Send', properties: [...SEND_STATUS_PROPERTIES], filter: { property: 'ID', operator: 'equals', value: sendId } },
      opts,
    );
    return results.map(toSendStatus).find((s) => s !== undefined);
  },
};
