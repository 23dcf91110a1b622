import type { SendCounts, SendStatusRecord } from './types.js';

/**
 * What a Send's `Status` means for a run that tracks it. The partner WSDL types Send.Status as a
 * plain xsd:string and the Send object page describes it only as "status of object": SFMC documents
 * no list of values for the API (../shared/reference/sfmc-soap.md §3.5). The values below are the
 * ones the SFMC UI shows for send jobs (Scheduled, Sending, Complete, Canceled, Paused, Error) and
 * are UNVERIFIED for the SOAP API: see the README's "Unverified" list.
 *
 * Matching is case-insensitive and ignores surrounding space. A status not listed here is NOT
 * final: the run keeps polling until track.timeoutMs rather than declare an outcome it cannot read.
 */

/** Ended with the emails handed to the MTA: the only success. */
const SUCCESS = ['complete'];
/**
 * Ended without (all) the emails going out. `Cancelled` is the British spelling some SFMC pages
 * use for the same state; `Stopped` is the UI's word for a send a user stopped mid-way.
 */
const FAILED = ['canceled', 'cancelled', 'error', 'stopped'];

const normal = (status: string | undefined) => (status ?? '').trim().toLowerCase();

export function isFinalSendStatus(status: string | undefined): boolean {
  const s = normal(status);
  return SUCCESS.includes(s) || FAILED.includes(s);
}

export function isFailedSendStatus(status: string | undefined): boolean {
  return FAILED.includes(normal(status));
}

/**
 * The Send properties a status check asks for. Every one is an element of the partner WSDL's Send
 * type (../shared/sfmc/partnerAPI.wsdl, complexType Send). Salesforce's "Retrieve a Send Summary by
 * JobID" sample retrieves SentDate, UniqueOpens, NumberSent, NumberDelivered, HardBounces and
 * SoftBounces from a Send filtered by ID; "Retrieve the Scheduled Send Time and Status of a Send"
 * adds OtherBounces, UniqueClicks and Unsubscribes among its Properties
 * (https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/summary_of_send_using_jobid.html,
 * .../retrieving_the_scheduled_send_time_and_status_of_a_send.htm). Status is UNVERIFIED as a
 * retrievable property (no sample requests it; wvpv's "Send SOAP Object Data Extension Schema"
 * gist mirrors it, https://gist.github.com/wvpv/b24e6c45e8200b6c1b48f96fc3279ac8). If SFMC refuses
 * it, the Retrieve fails with "The Request Property(s) ... do not match".
 */
export const SEND_STATUS_PROPERTIES = [
  'ID',
  'Status',
  'SentDate',
  'NumberSent',
  'NumberDelivered',
  'HardBounces',
  'SoftBounces',
  'OtherBounces',
  'Unsubscribes',
  'UniqueOpens',
  'UniqueClicks',
] as const;

/** What a tracked run reports about its Send (the run result's `delivery`). Numbers as numbers. */
/** A Send that has sent nothing yet: every count 0. */
export const NO_SEND_COUNTS: Readonly<SendCounts> = {
  numberSent: 0,
  numberDelivered: 0,
  hardBounces: 0,
  softBounces: 0,
  otherBounces: 0,
  unsubscribes: 0,
  uniqueOpens: 0,
  uniqueClicks: 0,
};

export interface SendDelivery extends SendCounts {
  status: string;
  /** ISO 8601 UTC; null while SFMC reports no SentDate (or one that could not be read). */
  sentDate: string | null;
}

export function toDelivery(record: SendStatusRecord): SendDelivery {
  return {
    status: record.status,
    sentDate: record.sentAt === undefined ? null : new Date(record.sentAt).toISOString(),
    numberSent: record.numberSent,
    numberDelivered: record.numberDelivered,
    hardBounces: record.hardBounces,
    softBounces: record.softBounces,
    otherBounces: record.otherBounces,
    unsubscribes: record.unsubscribes,
    uniqueOpens: record.uniqueOpens,
    uniqueClicks: record.uniqueClicks,
  };
}
