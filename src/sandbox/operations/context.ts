import type { XmlNode } from '../../sfmc/xml.js';
import type { SandboxStore } from '../state.js';

/** What every operation handler gets, and what it gives back to the server. */

export interface OperationContext {
  store: SandboxStore;
  /** Epoch ms by the sandbox clock, read once per request. */
  now: number;
  pageSize: number;
  dataDir?: string;
  /** SandboxOptions.dateNormalization: how Retrieve reads filter dates that carry a zone. */
  dateNormalization: boolean;
  /** SandboxOptions.listSendDelayMs: a Send's ListSend rows are absent until then. */
  listSendDelayMs: number;
  /** The ErrorCode a Create of a taken ImportDefinition CustomerKey gets (SandboxOptions). */
  duplicateKeyErrorCode: 43030 | 1;
}

export interface OperationOutcome {
  /** The Body child (`RetrieveResponseMsg`, `CreateResponse`, `PerformResponseMsg`, `DeleteResponse`). */
  body: XmlNode;
  overallStatus: string;
  /** True when the call changed state: what `reset`/`drop-after-commit` faults are about. */
  committed: boolean;
}

/** The APIObject fields every object inherits; valid as Retrieve Properties of any type. */
export const API_OBJECT_PROPERTIES = [
  'Client',
  'PartnerKey',
  'PartnerProperties',
  'CreatedDate',
  'ModifiedDate',
  'ID',
  'ObjectID',
  'CustomerKey',
  'Owner',
  'CorrelationID',
  'ObjectState',
];
