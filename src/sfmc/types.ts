import type { CallClass } from './budget.js';

/**
 * The shapes the pipeline exchanges with the SOAP client. Ids SFMC returns stay strings (a list id
 * or task id is an opaque key to us); counts are numbers.
 */

export interface CallOptions {
  /** Aborts the HTTP call (BullMQ passes one to processors on cancellation). */
  signal?: AbortSignal;
  /**
   * The budget class the call is charged to (budget.ts); `progress` when absent. Processors do not
   * set it: the worker hands each step a client bound to its queue's class (client.ts inCallClass).
   */
  callClass?: CallClass;
}

export interface SfmcList {
  id: string;
  name?: string;
}

export type FieldMap =
  | { sourceOrdinal: number; destinationName: string }
  | { sourceName: string; destinationName: string };

export type ResponseType = 'None' | 'email' | 'FTP' | 'HTTPPost';
export type RespondWhen = 'Never' | 'OnError' | 'Always' | 'OnConversationError' | 'OnConversationComplete' | 'OnCallComplete';
export type FileType = 'CSV' | 'TAB' | 'Other';
export type FieldMappingType = 'InferFromColumnHeadings' | 'MapByOrdinal' | 'ManualMap';
export type UpdateType = 'AddAndUpdate' | 'AddAndDoNotUpdate' | 'UpdateButDoNotAdd' | 'Merge' | 'Overwrite' | 'ColumnBased';
export type SubscriberImportType = 'Email' | 'SMS';

/** Everything the list send sets on an ImportDefinition; serialized in schema order by the client. */
export interface ImportDefinitionSpec {
  customerKey: string;
  name: string;
  description?: string;
  listId: string;
  allowErrors?: boolean;
  fieldMappingType: FieldMappingType;
  fieldMaps: FieldMap[];
  fileSpec: string;
  fileType: FileType;
  notification?: { responseType: ResponseType; responseAddress: string; respondWhen?: RespondWhen };
  /** CustomerKey of the FileTransferLocation; SFMC's Enhanced FTP Import folder is `ExactTarget Enhanced FTP`. */
  fileTransferLocation: string;
  subscriberImportType?: SubscriberImportType;
  updateType: UpdateType;
  delimiter?: string;
  headerLines?: number;
  standardQuotedStrings?: boolean;
  dateFormattingLocale?: string;
  deleteFile?: boolean;
}

/** An ImportDefinition as read back by CustomerKey, enough to tell "the same" from "different". */
export interface ImportDefinitionRecord {
  objectId?: string;
  customerKey: string;
  name?: string;
  listId?: string;
  fileSpec?: string;
  fileType?: string;
  fieldMappingType?: string;
  updateType?: string;
}

/** An Email as read back by ID: what the run's status shows before anything is imported. */
export interface SfmcEmail {
  id: string;
  name?: string;
  subject?: string;
}

/** Documented: New, Processing, Completed, Error, IOWork, Unknown. Others are kept as given. */
export type ImportStatus = 'New' | 'Processing' | 'Completed' | 'Error' | 'IOWork' | 'Unknown' | (string & {});

export interface ImportResultsSummary {
  taskResultId?: string;
  importDefinitionCustomerKey?: string;
  importStatus: ImportStatus;
  destinationId?: string;
  numberSuccessful: number;
  numberErrors: number;
  numberDuplicated: number;
  totalRows: number;
  /** As SFMC wrote them (CST wall clock, format UNVERIFIED); read with parseSfmcDate (time.ts). */
  startDate?: string;
  endDate?: string;
}

export interface SendRecord {
  id: string;
  emailId?: string;
  /** Filled only when a reply carries List elements; a Send's lists come from ListSend. */
  listIds: string[];
  /** As SFMC wrote it (CST wall clock, no offset); read with parseSfmcDate (time.ts). */
  sendDate?: string;
  status?: string;
}

/**
 * Sender overrides for one Send (partner WSDL Send.FromAddress, FromName, Subject). Absent fields
 * keep the Email's own sender and subject. SFMC sends only from verified domains (README).
 */
export interface SendSenderOptions {
  fromName?: string;
  fromAddress?: string;
  subject?: string;
}

export interface SendSpec extends SendSenderOptions {
  emailId: string;
  listId: string;
}

/**
 * The tracking counts of a Send (partner WSDL, type Send). Absent or nil counts (NumberSent is
 * nillable while the Send is going out) read as 0.
 */
export interface SendCounts {
  numberSent: number;
  numberDelivered: number;
  hardBounces: number;
  softBounces: number;
  otherBounces: number;
  unsubscribes: number;
  uniqueOpens: number;
  uniqueClicks: number;
}

/** A Send's progress and tracking counts, as one status check reads them (send-status.ts). */
export interface SendStatusRecord extends SendCounts {
  id: string;
  /** As SFMC wrote it; '' when the reply carried none. Read with isFinalSendStatus (send-status.ts). */
  status: string;
  /** SentDate as epoch ms (parseSfmcDate: CST when SFMC writes no offset); absent while not sent. */
  sentAt?: number;
  /** SentDate as SFMC wrote it, kept when it could not be read as a date. */
  sentDateText?: string;
}

/** One ListSend row: one List a Send went to (SFMC returns one row per List of the Send). */
export interface ListSendRecord {
  sendId: string;
  listId: string;
}

/** The operations of the list-based send workflow. One HTTP attempt per call (plus one token refresh). */
export interface SfmcApi {
  retrieveListsByName(name: string, opts?: CallOptions): Promise<SfmcList[]>;
  retrieveListById(id: string, opts?: CallOptions): Promise<SfmcList | undefined>;
  /** The Email a run sends (ID, Name, Subject); undefined when no Email has that ID. */
  retrieveEmailById(id: string, opts?: CallOptions): Promise<SfmcEmail | undefined>;
  /**
   * Throws SfmcError `result-error` with `context.errorCode` 43030 ("ImportDefinition Exists") or
   * 1 ("Name already exists") when the CustomerKey or name is in use.
   */
  createImportDefinition(spec: ImportDefinitionSpec, opts?: CallOptions): Promise<{ objectId?: string }>;
  retrieveImportDefinition(customerKey: string, opts?: CallOptions): Promise<ImportDefinitionRecord | undefined>;
  /**
   * Delete by CustomerKey. `deleted: false` when SFMC has no such definition (43010), which is
   * what a repeated delete meets; any other refusal throws.
   */
  deleteImportDefinition(customerKey: string, opts?: CallOptions): Promise<{ deleted: boolean }>;
  /** Perform `start`; returns the task id to poll ImportResultsSummary with. */
  startImportDefinition(customerKey: string, opts?: CallOptions): Promise<{ taskId: string }>;
  /** undefined while SFMC has not registered the import yet (normal right after `start`). */
  retrieveImportResults(taskId: string, opts?: CallOptions): Promise<ImportResultsSummary | undefined>;
  /**
   * Every ImportResultsSummary of one ImportDefinition (filter ImportDefinitionCustomerKey equals):
   * how a re-entered start-import finds a task an earlier, unanswered start created.
   */
  retrieveImportResultsByDefinition(customerKey: string, opts?: CallOptions): Promise<ImportResultsSummary[]>;
  createSend(send: SendSpec, opts?: CallOptions): Promise<{ sendId: string }>;
  retrieveSendById(id: string, opts?: CallOptions): Promise<SendRecord | undefined>;
  /** Sends of this Email created at or after `since` (the re-entry check before a second Create Send). */
  retrieveSendsByEmail(emailId: string, since: Date, opts?: CallOptions): Promise<SendRecord[]>;
  /** The ListSend rows of one Send (filter SendID equals): which Lists it went to. */
  retrieveListSends(sendId: string, opts?: CallOptions): Promise<ListSendRecord[]>;
  /** One status check of a Send by ID (its job id); undefined when SFMC has no such Send. */
  retrieveSendStatus(sendId: string, opts?: CallOptions): Promise<SendStatusRecord | undefined>;
}
