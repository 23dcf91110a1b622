import { createHash, randomBytes } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { z } from 'zod';

/**
 * The list-send request: one JSON document, validated before anything is enqueued. Objects are
 * strict, so a misspelt optional field is an error rather than silently ignored.
 */

// SFMC refuses these characters in Enhanced FTP file names.
const FILE_NAME_FORBIDDEN = /[\\/:*<>|?"]/;

// XML 1.0 cannot carry most C0 control characters, nor half of a surrogate pair (UTF-8 cannot
// encode it): refused here, naming the field, instead of failing a step on every retry later.
// eslint-disable-next-line no-control-regex
const XML_UNSAFE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const XML_UNSAFE_MESSAGE = 'must not contain a control character or an unpaired surrogate (XML cannot carry them)';
const xmlSafe = (v: string) => !XML_UNSAFE.test(v);

const text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`).refine(xmlSafe, XML_UNSAFE_MESSAGE);

/**
 * Caps: every array and string is bounded, so the largest valid request is about 15 KB
 * (test/request-limits.test.ts builds it) and one token holder cannot fill Redis with a few
 * requests. The run registry keeps one copy per run (src/runs.ts).
 */
export const REQUEST_LIMITS = {
  fieldMaps: 200,
  /** All sourceName and destinationName characters of one request together. */
  fieldMapNameChars: 4_000,
  filePath: 1_024,
} as const;

/**
 * The least time between two ImportResultsSummary Retrieves of one run. Without it a request
 * with initialDelayMs 0 polls SFMC back to back for as long as the import runs (issue #10).
 */
export const POLL_FLOOR_MS = 1_000;

/**
 * SFMC object IDs are xsd:int in the partner WSDL (APIObject.ID, ../shared/sfmc/partnerAPI.wsdl
 * lines 33 and 63), so a List or Email ID is 1..2147483647. Given as a number or a string, it is
 * the same decimal digits: no sign, no leading zero, no exponent. A JSON number above 2^53 cannot
 * be exact, and it is above the xsd:int range anyway, so it is refused like any other too-large id.
 */
const OBJECT_ID = /^[1-9][0-9]{0,18}$/;
const XSD_INT_MAX = 2_147_483_647;
const numericId = z
  .union([z.number(), z.string().max(19, 'must be at most 19 digits')])
  .transform((v) => String(v))
  .pipe(
    z.string().superRefine((v, ctx) => {
      // One problem per id: the range is checked only on well-formed digits.
      if (!OBJECT_ID.test(v)) ctx.addIssue({ code: 'custom', message: 'must be a numeric id: a positive whole number of at most 19 digits, without sign, leading zero or exponent' });
      else if (Number(v) > XSD_INT_MAX) ctx.addIssue({ code: 'custom', message: `must be at most ${XSD_INT_MAX} (SFMC IDs are xsd:int)` });
    }),
  );

/**
 * A file name in the Enhanced FTP Import folder, never a path: no separator, and no leading dot,
 * so neither `.` nor `..` (the folder itself or its parent) nor a hidden file.
 */
const fileName = text(200).superRefine((v, ctx) => {
  if (FILE_NAME_FORBIDDEN.test(v)) ctx.addIssue({ code: 'custom', message: 'must not contain \\ / : * < > | ? "' });
  else if (v.startsWith('.')) ctx.addIssue({ code: 'custom', message: 'must not start with "." (it names a file in the Import folder, not . or ..)' });
});

export const runIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, 'may hold only letters, digits, - and _')
  .min(1)
  .max(80, 'must be at most 80 characters');

const fieldMap = z.union([
  z.strictObject({ sourceOrdinal: z.number().int().min(0), destinationName: text(128) }),
  z.strictObject({ sourceName: text(128), destinationName: text(128) }),
]);

const importSchema = z.strictObject({
  customerKey: text(36).regex(/^[A-Za-z0-9_-]+$/, 'may hold only letters, digits, - and _').optional(),
  name: text(128).optional(),
  description: text(500).optional(),
  /** Required without `file`; with it, derived from the runId and the file's name unless given. */
  fileSpec: fileName.optional(),
  fileType: z.enum(['CSV', 'TAB', 'Other']).default('CSV'),
  fieldMappingType: z.enum(['InferFromColumnHeadings', 'MapByOrdinal', 'ManualMap']).default('MapByOrdinal'),
  fieldMaps: z
    .array(fieldMap)
    .min(1, 'must map at least the email column')
    .max(REQUEST_LIMITS.fieldMaps, `must have at most ${REQUEST_LIMITS.fieldMaps} entries`)
    .refine(
      (maps) => maps.reduce((n, m) => n + ('sourceName' in m ? m.sourceName.length : 0) + m.destinationName.length, 0) <= REQUEST_LIMITS.fieldMapNameChars,
      `names must total at most ${REQUEST_LIMITS.fieldMapNameChars} characters`,
    ),
  // A List import takes only these three (ImportDefinition docs): Merge is reserved, Overwrite is for
  // data extensions, ColumnBased needs a ControlColumn this service does not send.
  updateType: z
    .enum(['AddAndUpdate', 'AddAndDoNotUpdate', 'UpdateButDoNotAdd'], {
      error: 'must be AddAndUpdate, AddAndDoNotUpdate or UpdateButDoNotAdd for a List import (Merge is reserved, Overwrite is for data extensions, ColumnBased needs a control column)',
    })
    .default('AddAndUpdate'),
  notification: z
    .strictObject({
      responseType: z.enum(['None', 'email', 'FTP', 'HTTPPost']),
      responseAddress: text(254),
      respondWhen: z.enum(['Never', 'OnError', 'Always', 'OnConversationError', 'OnConversationComplete', 'OnCallComplete']).optional(),
    })
    .optional(),
  fileTransferLocation: text(100).default('ExactTarget Enhanced FTP'),
  subscriberImportType: z.enum(['Email', 'SMS']).optional(),
  /** The ImportDefinition's AllowErrors, and, with `file`, lets rows that fail pre-validation through. */
  allowErrors: z.boolean().optional(),
  /** With `file`: a repeated email fails the pre-validation (by default it is only counted; SFMC reports NumberDuplicated). */
  failOnDuplicateEmails: z.boolean().optional(),
  headerLines: z.number().int().min(0).max(100).optional(),
  delimiter: z.string().min(1).max(5).refine(xmlSafe, XML_UNSAFE_MESSAGE).optional(),
  standardQuotedStrings: z.boolean().optional(),
  dateFormattingLocale: text(20).optional(),
  deleteFile: z.boolean().optional(),
  /** A Completed import with zero successful rows fails the run unless this is true. */
  allowEmpty: z.boolean().default(false),
  /** Keep the run's ImportDefinition in SFMC after the import completes (deleted by default). */
  keepDefinition: z.boolean().default(false),
});

const pollSchema = (floorMs: number) =>
  z
    .strictObject({
      initialDelayMs: z.number().int().min(floorMs, `must be at least ${floorMs}`).max(3_600_000).default(150_000),
      maxDelayMs: z.number().int().min(floorMs, `must be at least ${floorMs}`).max(3_600_000).default(1_800_000),
      timeoutMs: z.number().int().min(1).max(7 * 86_400_000).default(7_200_000),
    })
    // Only between two delays that are each valid: one problem per field.
    .refine((p) => p.initialDelayMs < floorMs || p.maxDelayMs < floorMs || p.maxDelayMs >= p.initialDelayMs, {
      message: 'must be >= initialDelayMs',
      path: ['maxDelayMs'],
    });

/** How long track-send follows a Send by default: 24 h, long enough for a large list at SFMC's pace. */
export const TRACK_TIMEOUT_DEFAULT_MS = 86_400_000;
/** At most a week, like poll.timeoutMs: a run's registry entry must not wait on a Send forever. */
export const TRACK_TIMEOUT_MAX_MS = 7 * 86_400_000;

/**
 * `false` ends the run at Create Send; an object follows the Send until a final Status (track-send),
 * for at most timeoutMs after its first check. The floor is one minute: less could not see even a
 * small Send complete.
 */
const trackSchema = z.union([
  z.literal(false),
  z.strictObject({
    // A whole-number check by refine, not .int(): inside a union, a type-level miss would be
    // reported as the union's own error instead of naming track.timeoutMs.
    timeoutMs: z
      .number()
      .min(60_000, 'must be at least 60000')
      .max(TRACK_TIMEOUT_MAX_MS, `must be at most ${TRACK_TIMEOUT_MAX_MS}`)
      .refine(Number.isInteger, 'must be a whole number of milliseconds')
      .default(TRACK_TIMEOUT_DEFAULT_MS),
  }),
], { message: 'must be false or { "timeoutMs": ... }' });

/**
 * An address the way SFMC's own From Address field takes one: local@domain, no spaces, no angle
 * brackets. A display name goes in fromName. 254 characters is the SMTP path limit (RFC 5321).
 */
const EMAIL_ADDRESS = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[^\s@<>()",;:]+$/;

/**
 * Sender overrides for the Send (partner WSDL Send.FromAddress, FromName, Subject). Lengths follow
 * the Send object's columns as mirrored by wvpv's "SFMC Send SOAP Object Data Extension Schema"
 * (FromName 130, Subject 200; https://gist.github.com/wvpv/b24e6c45e8200b6c1b48f96fc3279ac8).
 * SFMC sends only from verified domains: an unverified fromAddress is SFMC's to refuse (README).
 */
const sendSchema = z.strictObject({
  fromName: text(130).optional(),
  fromAddress: text(254).regex(EMAIL_ADDRESS, 'must be an email address like news@example.com').optional(),
  subject: text(200).optional(),
});

/** A local file the worker uploads to the Enhanced FTP Import folder before the import (step upload-file). */
const fileSchema = z.strictObject({
  path: text(REQUEST_LIMITS.filePath).refine((v) => isAbsolute(v), 'must be an absolute path on the worker\'s machine'),
});

/**
 * The SFMC account (business unit) the run uses: a name from SFMC_ACCOUNTS; absent means the
 * default SFMC_* account. Whether the name is configured is checked by the producer and the worker.
 */
/** Account names: short, lower case, safe in a variable name, a metric label and a Redis key. */
export const ACCOUNT_NAME = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
const accountSchema = z
  .string()
  .max(32, 'must be at most 32 characters')
  .regex(ACCOUNT_NAME, 'must be an account name from SFMC_ACCOUNTS (lower-case letters, digits and -)');

const buildRequestSchema = (pollFloorMs: number) => z.strictObject({
  runId: runIdSchema.optional(),
  account: accountSchema.optional(),
  file: fileSchema.optional(),
  list: z.union([z.strictObject({ name: text(50) }), z.strictObject({ id: numericId })], {
    message: 'must be { "name": "..." } or { "id": 123 }',
  }),
  email: z.strictObject({ id: numericId }),
  import: importSchema,
  // The defaults are processors/poll-schedule.ts's DEFAULT_POLL_TIMING (test/processors/poll-schedule.test.ts checks).
  poll: pollSchema(pollFloorMs).default({ initialDelayMs: 150_000, maxDelayMs: 1_800_000, timeoutMs: 7_200_000 }),
  send: sendSchema.optional(),
  track: trackSchema.default({ timeoutMs: TRACK_TIMEOUT_DEFAULT_MS }),
}).superRefine((r, ctx) => {
  if (!r.file && r.import.fileSpec === undefined) {
    ctx.addIssue({ code: 'custom', path: ['import', 'fileSpec'], message: 'is required unless "file" is given' });
  }
  if (r.file && r.import.fileType === 'Other' && r.import.delimiter === undefined) {
    ctx.addIssue({ code: 'custom', path: ['import', 'delimiter'], message: 'is required to check a file of fileType Other' });
  }
});

/** The schema every producer applies: the API and the CLI never lower the poll floor. */
export const listSendRequestSchema = buildRequestSchema(POLL_FLOOR_MS);
const lowFloorSchemas = new Map<number, typeof listSendRequestSchema>();

export type ListSendRequestInput = z.input<typeof listSendRequestSchema>;
type Parsed = z.output<typeof listSendRequestSchema>;

/** A validated request with every derived field filled in: what the run registry keeps, once per run. */
export type ListSendRequest = Omit<Parsed, 'runId' | 'import'> & {
  runId: string;
  import: Parsed['import'] & { customerKey: string; name: string; fileSpec: string };
};

export interface FieldProblem {
  path: string;
  message: string;
}

export class RequestValidationError extends Error {
  override name = 'RequestValidationError';
  readonly code = 'invalid-request';
  constructor(readonly problems: FieldProblem[]) {
    super(`invalid list-send request: ${problems.map((p) => `${p.path || '(request)'}: ${p.message}`).join('; ')}`);
  }
}

/**
 * A producer's check of `account` against the accounts it is configured with (`default` and
 * SFMC_ACCOUNTS); undefined when it passes. Without a list (a producer built without a config)
 * any well-formed name passes, and the worker refuses an unknown one.
 */
export function accountProblem(account: unknown, accounts: readonly string[] | undefined): FieldProblem | undefined {
  if (account === undefined || !accounts || (typeof account === 'string' && accounts.includes(account))) return undefined;
  return { path: 'account', message: `is not a configured account (configured: ${accounts.join(', ')})` };
}

export function generateRunId(now = new Date()): string {
  return `run-${now.toISOString().slice(0, 10)}-${randomBytes(6).toString('hex')}`;
}

/**
 * SFMC's CustomerKey length limit for ImportDefinition is not documented where we looked; 36
 * characters is the common limit on other objects, so derived keys stay within it.
 */
export function deriveCustomerKey(runId: string): string {
  const plain = `ls-${runId}`;
  if (plain.length <= 36) return plain;
  const digest = createHash('sha256').update(runId).digest('hex').slice(0, 12);
  return `ls-${runId.slice(0, 20)}-${digest}`;
}

/**
 * The name an uploaded file gets in the Import folder: the runId, then the local file's name cut
 * down to letters, digits, `.`, `_` and `-` (no SFMC-forbidden character, no `%%` date pattern,
 * no leading dot), at most 200 characters with the extension kept. Unique per run, because SFMC
 * keeps files for 21 days and an ImportDefinition reading a shared name could import an old file.
 */
export function deriveFileSpec(runId: string, localPath: string): string {
  const base = localPath.split(/[\\/]/).pop() ?? '';
  let name = base.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[.]+/, '');
  if (name === '' || name === '_') name = 'subscribers.csv';
  const room = 200 - runId.length - 1;
  if (name.length > room) {
    const ext = /\.[A-Za-z0-9]{1,10}$/.exec(name)?.[0] ?? '';
    name = name.slice(0, room - ext.length) + ext;
  }
  return `${runId}-${name}`;
}

export interface ParseOptions {
  makeRunId?: () => string;
  /**
   * Lowers POLL_FLOOR_MS, for tests and benchmarks that drive the sandbox, whose imports end in
   * milliseconds. Producers built from the configuration (API, CLI) never set it.
   */
  pollFloorMs?: number;
}

export function parseListSendRequest(input: unknown, options: ParseOptions = {}): ListSendRequest {
  const { makeRunId = generateRunId, pollFloorMs = POLL_FLOOR_MS } = options;
  const schema = pollFloorMs === POLL_FLOOR_MS ? listSendRequestSchema : schemaWithFloor(pollFloorMs);
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new RequestValidationError(
      result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    );
  }
  // `"account": "default"` is the same run as no account: one form, one fingerprint.
  const { account, ...parsed } = result.data;
  const runId = parsed.runId ?? makeRunId();
  return {
    ...parsed,
    ...(account !== undefined && account !== 'default' ? { account } : {}),
    runId,
    import: {
      ...parsed.import,
      customerKey: parsed.import.customerKey ?? deriveCustomerKey(runId),
      name: parsed.import.name ?? `list-send ${runId}`.slice(0, 128),
      // The schema guarantees a fileSpec when there is no file.
      fileSpec: parsed.import.fileSpec ?? deriveFileSpec(runId, parsed.file?.path ?? ''),
    },
  };
}

function schemaWithFloor(floorMs: number): typeof listSendRequestSchema {
  let schema = lowFloorSchemas.get(floorMs);
  if (!schema) lowFloorSchemas.set(floorMs, (schema = buildRequestSchema(floorMs)));
  return schema;
}

/** A stable fingerprint of what a run was asked to do, to tell a repeat from a conflicting reuse of a runId. */
export function requestFingerprint(request: ListSendRequest): string {
  return createHash('sha256').update(stableJson(request)).digest('hex');
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
