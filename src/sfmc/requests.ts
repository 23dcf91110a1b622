import { toSfmcWallClock } from './time.js';
import type { ImportDefinitionSpec, SendSpec } from './types.js';
import { el, opt, type XmlNode } from './xml.js';

/**
 * Pure builders for request bodies. Every element list follows the WSDL's xs:sequence, inherited
 * fields first (APIObject, then InteractionBaseObject, InteractionDefinition, then the type's own):
 * the .NET service behind Service.asmx is strict about order. Optional fields are omitted when
 * undefined, never sent as empty tags.
 */

export type SimpleOperator =
  | 'equals'
  | 'notEquals'
  | 'greaterThan'
  | 'lessThan'
  | 'isNull'
  | 'isNotNull'
  | 'greaterThanOrEqual'
  | 'lessThanOrEqual'
  | 'between'
  | 'IN'
  | 'like'
  | 'existsInString'
  | 'existsInStringAsAWord'
  | 'notExistsInString'
  | 'beginsWith'
  | 'endsWith'
  | 'contains'
  | 'notContains'
  | 'isAnniversary'
  | 'isNotAnniversary'
  | 'greaterThanAnniversary'
  | 'lessThanAnniversary';

export interface SimpleFilter {
  property: string;
  operator: SimpleOperator;
  value?: string;
  /** IN / between take several. */
  values?: string[];
  /**
   * Sent as xsd:dateTime DateValue (Value would be compared as text). A Date is written as SFMC
   * server time without an offset (see time.ts); a string is sent as given.
   */
  dateValue?: Date | string;
}

export interface ComplexFilter {
  left: Filter;
  logicalOperator: 'AND' | 'OR';
  right: Filter;
}

export type Filter = SimpleFilter | ComplexFilter;

export interface RetrieveSpec {
  objectType: string;
  /** Retrieve `Properties` are free strings to the schema; SFMC refuses names it cannot retrieve. */
  properties: string[];
  filter?: Filter;
  /** The RequestID of the previous page while OverallStatus is MoreDataAvailable. */
  continueRequest?: string;
  queryAllAccounts?: boolean;
}

function isComplex(filter: Filter): filter is ComplexFilter {
  return 'logicalOperator' in filter;
}

function dateTimeText(value: Date | string): string {
  if (typeof value === 'string') return value;
  if (Number.isNaN(value.getTime())) throw new TypeError('filter dateValue is an invalid Date');
  // Not toISOString(): with the account's incoming date normalization off, SFMC ignores the `Z`.
  return toSfmcWallClock(value);
}

/** A FilterPart under the given element name (Filter, LeftOperand, RightOperand). */
export function filterNode(name: string, filter: Filter): XmlNode {
  if (isComplex(filter)) {
    return el(name, { 'xsi:type': 'ComplexFilterPart' }, [
      filterNode('LeftOperand', filter.left),
      el('LogicalOperator', filter.logicalOperator),
      filterNode('RightOperand', filter.right),
    ]);
  }
  const values = filter.values ?? (filter.value === undefined ? [] : [filter.value]);
  return el(name, { 'xsi:type': 'SimpleFilterPart' }, [
    el('Property', filter.property),
    el('SimpleOperator', filter.operator),
    ...values.map((v) => el('Value', v)),
    filter.dateValue === undefined ? undefined : el('DateValue', dateTimeText(filter.dateValue)),
  ]);
}

export function retrieveRequest(spec: RetrieveSpec): XmlNode {
  return el('RetrieveRequestMsg', [
    el('RetrieveRequest', [
      el('ObjectType', spec.objectType),
      ...spec.properties.map((p) => el('Properties', p)),
      spec.filter ? filterNode('Filter', spec.filter) : undefined,
      opt('ContinueRequest', spec.continueRequest),
      opt('QueryAllAccounts', spec.queryAllAccounts),
    ]),
  ]);
}

/**
 * Object builders name their node after the object type; the request wrappers rename it to the
 * element the operation expects (`Objects` for Create, `Definition` for Perform).
 */
function as(name: string, node: XmlNode): XmlNode {
  return { ...node, name };
}

/** CreateOptions is required ([1..1]) even when empty, and comes before Objects. */
export function createRequest(objects: XmlNode[]): XmlNode {
  if (objects.length === 0) throw new TypeError('createRequest needs at least one object');
  return el('CreateRequest', [el('Options'), ...objects.map((o) => as('Objects', o))]);
}

/** DeleteRequest: DeleteOptions ([1..1], empty) then Objects, the same sequence as CreateRequest. */
export function deleteRequest(objects: XmlNode[]): XmlNode {
  if (objects.length === 0) throw new TypeError('deleteRequest needs at least one object');
  return el('DeleteRequest', [el('Options'), ...objects.map((o) => as('Objects', o))]);
}

/** Schema order is Options, Action, Definitions; the documentation's sample has Action first. */
export function performRequest(action: string, definitions: XmlNode[]): XmlNode {
  return el('PerformRequestMsg', [
    el('Options'),
    el('Action', action),
    el(
      'Definitions',
      definitions.map((d) => as('Definition', d)),
    ),
  ]);
}

/** The xsi:type of an object built here (Create's Objects, Perform's Definition). */
export function objectTypeOf(node: XmlNode | undefined): string | undefined {
  return node?.attrs?.['xsi:type'];
}

/** An xsd:int field: refused here, with its name, rather than by SFMC as a client fault. */
function intText(field: string, value: string | number): string {
  const text = String(value).trim();
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Math.abs(Number(text)) > 2147483647) {
    throw new TypeError(`${field} must be a whole number (xsd:int), got ${JSON.stringify(String(value))}`);
  }
  return text;
}

export function importDefinitionObject(spec: ImportDefinitionSpec): XmlNode {
  const n = spec.notification;
  return el('ImportDefinition', { 'xsi:type': 'ImportDefinition' }, [
    // APIObject
    el('CustomerKey', spec.customerKey),
    // InteractionBaseObject
    el('Name', spec.name),
    opt('Description', spec.description),
    // ImportDefinition
    opt('AllowErrors', spec.allowErrors),
    // Lists are referenced by numeric ID only (docs: ObjectID/CustomerKey unsupported for lists).
    el('DestinationObject', { 'xsi:type': 'List' }, [el('ID', intText('listId', spec.listId))]),
    el('FieldMappingType', spec.fieldMappingType),
    spec.fieldMaps.length > 0
      ? el(
          'FieldMaps',
          spec.fieldMaps.map((m) =>
            el('FieldMap', [
              'sourceName' in m ? el('SourceName', m.sourceName) : el('SourceOrdinal', intText('sourceOrdinal', m.sourceOrdinal)),
              el('DestinationName', m.destinationName),
            ]),
          ),
        )
      : undefined,
    el('FileSpec', spec.fileSpec),
    el('FileType', spec.fileType),
    n
      ? el('Notification', [
          el('ResponseType', n.responseType),
          el('ResponseAddress', n.responseAddress),
          opt('RespondWhen', n.respondWhen),
        ])
      : undefined,
    el('RetrieveFileTransferLocation', [el('CustomerKey', spec.fileTransferLocation)]),
    opt('SubscriberImportType', spec.subscriberImportType),
    el('UpdateType', spec.updateType),
    opt('Delimiter', spec.delimiter),
    spec.headerLines === undefined ? undefined : el('HeaderLines', intText('headerLines', spec.headerLines)),
    opt('StandardQuotedStrings', spec.standardQuotedStrings),
    spec.dateFormattingLocale === undefined
      ? undefined
      : el('DateFormattingLocale', [el('LocaleCode', spec.dateFormattingLocale)]),
    opt('DeleteFile', spec.deleteFile),
  ]);
}

/** What Perform `start` and Delete need: the definition by CustomerKey. */
export function importDefinitionRef(customerKey: string): XmlNode {
  return el('ImportDefinition', { 'xsi:type': 'ImportDefinition' }, [el('CustomerKey', customerKey)]);
}

/**
 * A list send: the Email and the List, both by numeric ID, and the optional sender overrides. The
 * partner WSDL's Send sequence is Email, List, SendDate, FromAddress, FromName, ... Subject, so
 * FromAddress goes before FromName and Subject comes after the counts (none of which we send).
 * Values are escaped by serialize(), like every other text.
 */
export function sendObject(send: SendSpec): XmlNode {
  return el('Send', { 'xsi:type': 'Send' }, [
    el('Email', [el('ID', intText('emailId', send.emailId))]),
    el('List', [el('ID', intText('listId', send.listId))]),
    opt('FromAddress', send.fromAddress),
    opt('FromName', send.fromName),
    opt('Subject', send.subject),
  ]);
}
