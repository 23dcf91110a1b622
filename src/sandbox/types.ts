import type { Logger } from 'pino';

/** The public shapes of the sandbox: options, state snapshots, call log, fault rules. */

export interface SandboxCredentials {
  clientId: string;
  clientSecret: string;
  /** The MID a token is issued for; `account_id` in the token request must match when given. */
  accountId: string;
  /** WS-Security UsernameToken login (PasswordText). */
  username: string;
  password: string;
}

export interface SeedList {
  id: string | number;
  name: string;
}

export interface SeedEmail {
  id: string | number;
  name: string;
  subject?: string;
}

export interface SeedData {
  lists?: SeedList[];
  emails?: SeedEmail[];
}

export interface ImportTiming {
  /** Time after `start` before any ImportResultsSummary exists (SFMC registers imports late). */
  registerDelayMs?: number;
  /** Time after `start` when the import reaches its final status. */
  durationMs?: number;
  /** NumberSuccessful/TotalRows when there is no file to count. */
  rows?: number;
}

export interface SandboxOptions {
  /** 0 = ephemeral (default). */
  port?: number;
  /** Default 127.0.0.1; the sandbox is a test double and never needs another interface. */
  host?: string;
  credentials?: Partial<SandboxCredentials>;
  /** Default: list `Sample_List` ID 123 and email ID 123 "Sample Email". */
  seed?: SeedData;
  /** Default 1079 (what the sfmc-sdk fixture shows SFMC returning). */
  tokenTtlSeconds?: number;
  import?: ImportTiming;
  /** Retrieve page size; SFMC uses 2500. */
  pageSize?: number;
  /**
   * What a Create of an ImportDefinition answers when its CustomerKey is taken. SFMC documents both
   * 43030 "ImportDefinition Exists" (43000-43999 page) and the generic 1 "Name already exists ...
   * the partner key is already used" (0-99 page); which one a given account returns is UNVERIFIED.
   * Default 43030. Whether SFMC also refuses a second definition with the same Name under another
   * key is UNVERIFIED; the sandbox does not refuse it.
   */
  duplicateKeyErrorCode?: 43030 | 1;
  /** Validate every request Body against the partner WSDL schema (default: when the WSDL is found). */
  schemaCheck?: boolean;
  /** Injectable clock (epoch ms); drives token expiry, import progress and send dates. */
  now?: () => number;
  logger?: Logger;
  /**
   * Holds `Import/<FileSpec>` files whose rows an import counts, and is the SFTP server's root.
   * Default: a fresh temporary folder, removed on close.
   */
  dataDir?: string;
  /** The SFTP server's port; 0 = ephemeral (default). It listens on `host` like the HTTP server. */
  sftpPort?: number;
  /** OpenSSH public keys that may log in to the SFTP server as the sandbox username. */
  sftpAuthorizedKeys?: string[];
  /** The partner WSDL to validate against; default: $SFMC_WSDL_PATH, else ../shared/sfmc/partnerAPI.wsdl. */
  wsdlPath?: string;
  /**
   * The account's "Incoming Date Normalization" (default true). On, a filter date's `Z` or offset is
   * honoured; off, its wall clock is read as SFMC server time (CST) and the zone ignored. SFMC
   * normalizes by default and turns it off on request (docs: Incoming Date Normalization, "contact
   * your representative to disable this feature"). An unzoned value is server time either way.
   */
  dateNormalization?: boolean;
  /**
   * How long after a Send its ListSend rows appear (default 0: at once). The docs describe ListSend
   * as the lists "for a completed send"; whether rows exist while a Send is still going out is
   * UNVERIFIED, so a lag can be modelled.
   */
  listSendDelayMs?: number;
  /** How Sends go from Sending to their final status, and what they count (sends.ts). */
  send?: SendBehaviour;
  /**
   * The `soap_instance_url` the token endpoint hands out; default the sandbox's own URL. Tests set
   * a forged one (another host, plain http) to check the client refuses to post its token there.
   */
  soapInstanceUrl?: string;
}

/**
 * How the sandbox's Sends progress (sends.ts). Set at start (SandboxOptions.send) or later with
 * Sandbox.setSendBehaviour; a Send keeps the behaviour it was created under.
 */
export interface SendBehaviour {
  /**
   * Status checks (Retrieves of the Send asking for Status) that still answer `Sending` before the
   * final status. Default 2: see sends.ts for why.
   */
  checksUntilFinal?: number;
  /** The status the Send ends in (default `Complete`); `Canceled` or `Error` model a failed Send. */
  finalStatus?: 'Complete' | 'Canceled' | 'Error';
  /** Bounces a completed Send reports (default 0 each); NumberDelivered is NumberSent minus them. */
  hardBounces?: number;
  softBounces?: number;
  otherBounces?: number;
}

export type ImportOutcome = 'Completed' | 'Error';

export interface ImportBehaviour {
  outcome?: ImportOutcome;
  durationMs?: number;
  registerDelayMs?: number;
  rows?: number;
  numberErrors?: number;
  numberDuplicated?: number;
}

export interface ListState {
  id: string;
  name: string;
}

export interface EmailState {
  id: string;
  name: string;
  subject?: string;
}

export interface ImportDefinitionState {
  customerKey: string;
  objectId: string;
  name?: string;
  listId: string;
  fileSpec?: string;
  fileType?: string;
  headerLines?: number;
  delimiter?: string;
  /** The field mapped to `Email Address`: where an import finds each row's email. */
  emailSource?: { ordinal: number } | { name: string };
  createdAt: number;
}

export interface ImportState {
  taskId: string;
  customerKey: string;
  listId: string;
  startedAt: number;
  outcome: ImportOutcome;
  registerDelayMs: number;
  durationMs: number;
  totalRows: number;
  numberErrors: number;
  numberDuplicated: number;
  /** Where TotalRows came from: a counted file in dataDir, or the configured default. */
  rowsFrom: 'file' | 'default';
}

export interface SendState {
  id: string;
  emailId: string;
  /** The first list of the Send (the pipeline sends to exactly one). */
  listId: string;
  listIds: string[];
  createdAt: number;
  /** Sender overrides as Create Send carried them (partner WSDL Send.FromAddress, FromName, Subject). */
  fromAddress?: string;
  fromName?: string;
  subject?: string;
  /** Subscribers of the Send's Lists when it was created: what it sends to (sends.ts). */
  subscribers: number;
  /** Retrieves that have read its Status so far. */
  statusChecks: number;
  /** When a status check first saw it final: its SentDate. */
  finishedAt?: number;
  behaviour: Required<SendBehaviour>;
}

export interface SandboxStateSnapshot {
  lists: ListState[];
  emails: EmailState[];
  importDefinitions: Record<string, ImportDefinitionState>;
  imports: Record<string, ImportState>;
  sends: SendState[];
}

export type SoapOperation = 'Create' | 'Retrieve' | 'Perform' | 'Delete';
/** `sftp`: a file opened for writing on the SFTP server. */
export type FaultOperation = SoapOperation | 'token' | 'sftp';

export type FaultKind =
  | 'server-fault'
  | 'client-fault'
  | 'html-502'
  | 'delay'
  | 'reset'
  | 'token-expired'
  | 'throttle'
  | 'drop-after-commit'
  | 'db-timeout'
  | 'db-deadlock'
  | 'hold';

export interface FaultRule {
  operation: FaultOperation;
  /** Retrieve: the ObjectType; Create/Perform: the xsi:type of the first Objects/Definition. */
  objectType?: string;
  /** Fire on the Nth matching call (1-based) counted from when the rule was added. Default 1. */
  onCall?: number;
  /** How many consecutive matching calls fire, starting at onCall. Default 1. */
  times?: number;
  kind: FaultKind;
  /** `delay`: how long to hold the (already committed) answer. */
  delayMs?: number;
  /** `server-fault`: the apifault Code (1, 2, 9 or 11). Default 2. */
  apiFaultCode?: 1 | 2 | 9 | 11;
  /** `html-502`: perform the operation before answering with the gateway page. */
  afterCommit?: boolean;
  /** `client-fault`/`server-fault`: replaces the default faultstring. */
  faultString?: string;
  /** `sftp` + `reset`: cut the connection once this many bytes of the file were written (default 0). */
  afterBytes?: number;
  /** `throttle`: an empty text/plain 500 instead of SFMC's documented `Rate Limited` fault envelope. */
  bare?: boolean;
}

export interface ActiveFaultRule extends FaultRule {
  id: string;
  /** Matching calls seen since the rule was added. */
  seen: number;
  /** Calls the rule has fired on. */
  fired: number;
}

export type AuthMode = 'oauth' | 'wsse' | 'client-credentials' | 'none';

export interface CallRecord {
  seq: number;
  /** ISO time by the sandbox clock. */
  time: string;
  path: string;
  operation?: FaultOperation;
  soapAction?: string;
  objectType?: string;
  auth: AuthMode;
  /** null when the socket was destroyed without an answer. */
  httpStatus: number | null;
  result: 'ok' | 'fault' | 'error' | 'dropped';
  /** SOAP faultcode/faultstring, or the token endpoint's `error`. */
  fault?: string;
  overallStatus?: string;
  injected?: FaultKind;
}

export interface FaultsApi {
  inject(rule: FaultRule): string;
  remove(id: string): boolean;
  clear(): void;
  list(): ActiveFaultRule[];
}

export interface SftpLogEntry {
  seq: number;
  /** ISO time by the sandbox clock. */
  time: string;
  op: 'auth' | 'open' | 'close' | 'cut' | 'rename' | 'remove';
  username: string;
  /** `auth`: the method tried and whether it was accepted. Passwords are never recorded. */
  method?: 'password' | 'publickey';
  ok?: boolean;
  /** The client's path (`/Import/x.csv`). */
  path?: string;
  detail?: string;
}

export interface SandboxSftp {
  host: string;
  port: number;
  /** `SHA256:<base64>` of the host key generated at start: the value for SFMC_SFTP_HOST_FINGERPRINT. */
  fingerprint: string;
  username: string;
  /** The folder `/` maps to; `/Import` is `importDir`. */
  dataDir: string;
  importDir: string;
  /** Logins, opens, closes, cuts, renames and removes, oldest first. */
  log(): SftpLogEntry[];
  /** Every password or signed public-key login attempt (the `none` probe is not one). */
  authAttempts(): SftpLogEntry[];
}

export interface Sandbox {
  url: string;
  /** The SFTP server (Enhanced FTP) storing into `dataDir`. */
  sftp: SandboxSftp;
  dataDir: string;
  soapUrl: string;
  tokenUrl: string;
  port: number;
  credentials: SandboxCredentials;
  readonly state: SandboxStateSnapshot;
  calls(): CallRecord[];
  faults: FaultsApi;
  setImportBehaviour(behaviour: ImportBehaviour & { customerKey?: string }): void;
  /** Changes how Sends created from now on progress (SendBehaviour); earlier Sends keep theirs. */
  setSendBehaviour(behaviour: SendBehaviour): void;
  addList(list: { id?: string | number; name: string }): ListState;
  addEmail(email: { id?: string | number; name: string; subject?: string }): EmailState;
  reset(): void;
  close(): Promise<void>;
}
