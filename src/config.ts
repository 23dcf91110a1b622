import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { ACCOUNT_NAME } from './request.js';
import { hasHashTag, MAX_QUEUE_SHARDS } from './shards.js';

/**
 * Configuration comes from the environment and is validated once at boot. Error messages name the
 * variable and the rule it broke, never the value: a mistyped secret must not land in a log.
 */

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** An absolute http(s) URL; whether plain http is allowed is decided with SFMC_ALLOW_HTTP_HOSTS below. */
const endpointUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
    return;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') ctx.addIssue({ code: 'custom', message: 'must use https://' });
});

const ENDPOINT_FIELDS = ['AUTH_URL', 'SOAP_URL'] as const;

/**
 * A host that is not a real tenant: this machine, or one named in SFMC_ALLOW_HTTP_HOSTS (the
 * sandbox). Only these may be reached over plain http, by a configured URL or (src/sfmc/auth.ts)
 * by the token response's soap_instance_url.
 */
export function isSandboxHost(hostname: string, allowedHosts: readonly string[]): boolean {
  return isLoopbackHost(hostname) || allowedHosts.includes(hostname.toLowerCase());
}

/** SFMC_ALLOW_HTTP_HOSTS as a list of lower-case host names. */
export function allowedHttpHosts(value: string | undefined): string[] {
  return (value ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
}

/** https everywhere, except plain http to this machine or to a host named in SFMC_ALLOW_HTTP_HOSTS (the sandbox). */
function httpAllowed(value: string, allowedHosts: string[]): boolean {
  const url = new URL(value);
  return url.protocol === 'https:' || isSandboxHost(url.hostname, allowedHosts);
}

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const portNumber = z.coerce
  .number({ message: 'must be a number' })
  .int('must be a whole number')
  .min(0, 'must be a port number (0-65535)')
  .max(65_535, 'must be a port number (0-65535)');

/**
 * Distinct emails an upload's duplicate check remembers by default: 3/4 of a 2^20-slot table of
 * 8-byte hashes, 8 MiB (issue #14: the whole worker stays under 150 MB during a 1 GB upload, and a
 * table this size mostly stays in the CPU's cache). UPLOAD_MAX_DISTINCT_EMAILS changes it.
 */
export const DEFAULT_MAX_DISTINCT_EMAILS = 786_432;

const positiveInt = (fallback: number) =>
  z.coerce.number({ message: 'must be a number' }).int('must be a whole number').positive('must be positive').default(fallback);

export interface RedisNode {
  host: string;
  port: number;
}

/** `host:port,host:port`: the seed nodes of a Redis Cluster. */
const clusterNodes = z
  .string()
  .trim()
  .transform((value, ctx): RedisNode[] | undefined => {
    if (value === '') return undefined;
    const nodes: RedisNode[] = [];
    for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
      const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(part);
      const port = Number(m?.[2]);
      if (!m?.[1] || port < 1 || port > 65_535) {
        ctx.addIssue({ code: 'custom', message: 'must be host:port pairs separated by commas' });
        return z.NEVER;
      }
      nodes.push({ host: m[1].replace(/^\[|\]$/g, ''), port });
    }
    return nodes;
  })
  .optional();

const optionalPositiveInt = z.preprocess(
  (v) => (v === '' ? undefined : v),
  z.coerce.number({ message: 'must be a number' }).int('must be a whole number').positive('must be positive').optional(),
);

/** `SHA256:` (optional) and the unpadded or padded base64 of a 32-byte digest. */
const SHA256_FINGERPRINT = /^(SHA256:)?[A-Za-z0-9+/]{43}=?$/;

/**
 * The settings every SFMC account has, named after its prefix: `SFMC_` for the default account,
 * `SFMC_EMEA_` for the account `emea` of SFMC_ACCOUNTS. One schema, so every account is validated
 * by the same rules, and issues name the real variable (`SFMC_EMEA_CLIENT_SECRET`).
 */
const accountFields = {
  SUBDOMAIN: z
    .string()
    .regex(/^[a-z0-9-]+$/i, 'must be the tenant subdomain alone (letters, digits, -)')
    .optional(),
  AUTH_URL: endpointUrl.optional(),
  SOAP_URL: endpointUrl.optional(),
  CLIENT_ID: optionalText,
  CLIENT_SECRET: optionalText,
  ACCOUNT_ID: z.string().regex(/^\d+$/, 'must be the numeric MID of the business unit').optional(),
  USERNAME: optionalText,
  PASSWORD: optionalText,
  /** Enhanced FTP (SFTP) for the upload-file step; see sftpConfig below. */
  SFTP_HOST: optionalText,
  SFTP_PORT: portNumber.default(22),
  SFTP_USERNAME: optionalText,
  SFTP_PASSWORD: optionalText,
  SFTP_PRIVATE_KEY_PATH: optionalText,
  SFTP_PRIVATE_KEY_PASSPHRASE: optionalText,
  SFTP_HOST_FINGERPRINT: optionalText.refine((v) => v === undefined || SHA256_FINGERPRINT.test(v), {
    message: 'must be a SHA256 host key fingerprint as OpenSSH prints it: SHA256: then 43 base64 characters',
  }),
  SFTP_DIR: z.string().trim().regex(/^\//, 'must be an absolute remote path such as /Import').default('/Import'),
  SFTP_MAX_CONNECTIONS: z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(10, 'must be at most 10 (SFMC allows 10 connections per FTP account)')
    .default(3),
};

type AccountFields = typeof accountFields;
/** One account's settings without their prefix (`CLIENT_ID`, not `SFMC_EMEA_CLIENT_ID`). */
export type AccountEnv = z.infer<z.ZodObject<AccountFields>>;

function prefixedAccountShape<P extends string>(prefix: P): { [K in keyof AccountFields as `${P}${K}`]: AccountFields[K] } {
  return Object.fromEntries(Object.entries(accountFields).map(([k, v]) => [`${prefix}${k}`, v])) as never;
}

function unprefixed(values: Record<string, unknown>, prefix: string): AccountEnv {
  return Object.fromEntries(Object.keys(accountFields).map((k) => [k, values[`${prefix}${k}`]])) as AccountEnv;
}

/** The name that stands for the unprefixed SFMC_* account; a request without `account` uses it. */
export const DEFAULT_ACCOUNT = 'default';

/** `SFMC_ACCOUNTS=emea,us`: the extra accounts' names, each unique, never `default`. */
const accountNames = z
  .string()
  .trim()
  .transform((value, ctx): string[] => {
    const names = value.split(',').map((n) => n.trim()).filter(Boolean);
    for (const name of names) {
      if (!ACCOUNT_NAME.test(name)) {
        ctx.addIssue({ code: 'custom', message: `account "${name.slice(0, 40)}" must be 1-32 lower-case letters, digits and - (not starting or ending with -)` });
      } else if (name === DEFAULT_ACCOUNT) {
        ctx.addIssue({ code: 'custom', message: `"${DEFAULT_ACCOUNT}" is the unprefixed SFMC_* account; name the extra accounts only` });
      }
    }
    if (new Set(names).size !== names.length) ctx.addIssue({ code: 'custom', message: 'names an account twice' });
    return names;
  })
  .optional();

/** The variable prefix of a named account: `emea` -> `SFMC_EMEA_`, `us-east` -> `SFMC_US_EAST_`. */
export function accountPrefix(name: string): string {
  return name === DEFAULT_ACCOUNT ? 'SFMC_' : `SFMC_${name.toUpperCase().replace(/-/g, '_')}_`;
}

export const envSchema = z.object({
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  /** Redis Cluster seed nodes (host:port, comma separated). When set, REDIS_URL is not used. */
  REDIS_CLUSTER_NODES: clusterNodes,
  /** `list-send worker`: BullMQ lockDuration and stalledInterval (defaults 30000); how soon a dead worker's job is taken over. */
  WORKER_LOCK_DURATION_MS: optionalPositiveInt,
  WORKER_STALLED_INTERVAL_MS: optionalPositiveInt,
  /**
   * SOAP calls per minute for the whole SFMC account, shared in Redis by every queue and worker
   * process (src/sfmc/budget.ts). Older SFMC docs recommend at most 2,000; poll checks may use 80%.
   */
  SFMC_CALLS_PER_MINUTE: positiveInt(1_800),
  /** How long every call of the account waits after SFMC throttles (its HTTP 500 with no body). */
  THROTTLE_PAUSE_MS: positiveInt(30_000),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9{}_-]+$/, 'may hold only letters, digits, {, }, _ and -')
    .default('{list-send}'),
  /**
   * Sets of queues runs are spread over, each under its own hash tag (src/shards.ts): on a Redis
   * Cluster, N > 1 spreads the runs over the masters. 1 keeps today's keys. Workers record it in
   * Redis and a producer or worker with another count is refused while runs of the recorded one
   * are unfinished (src/queue-layout.ts): a runId's shard is recomputed from the count.
   */
  QUEUE_SHARDS: z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(MAX_QUEUE_SHARDS, `must be at most ${MAX_QUEUE_SHARDS}`)
    .default(1),
  /** The default account's settings (SFMC_CLIENT_ID, SFMC_SFTP_HOST, ...): see accountFields. */
  ...prefixedAccountShape('SFMC_'),
  /** Extra SFMC accounts (business units), each set by its own SFMC_<NAME>_* variables: see accountsConfig. */
  SFMC_ACCOUNTS: accountNames,
  SFMC_TIMEOUT_MS: positiveInt(120_000),
  STEP_ATTEMPTS: positiveInt(5),
  STEP_BACKOFF_MS: positiveInt(10_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * Host names (comma separated) the SFMC endpoints may reach over plain http, besides loopback:
   * the sandbox on a private container network (`sandbox` in docker-compose.yml). Never a real tenant.
   */
  SFMC_ALLOW_HTTP_HOSTS: optionalText,
  /** The partner WSDL the sandbox validates requests against (read by the sandbox, declared here). */
  SFMC_WSDL_PATH: optionalText,
  /** `list-send serve`: bearer tokens (comma separated) that may call /v1; each at least 16 characters. */
  API_TOKENS: optionalText,
  /** The interface `serve` listens on, and a worker's /metrics (METRICS_PORT); 0.0.0.0 in a container. */
  API_HOST: z.string().trim().min(1).default('127.0.0.1'),
  API_PORT: portNumber.default(3000),
  /** Basic auth for the Bull Board dashboard at /ui; without both, /ui is not served. */
  DASHBOARD_USER: optionalText,
  DASHBOARD_PASSWORD: optionalText,
  /** `list-send worker`: serve the worker's /metrics on this port (off when unset). */
  METRICS_PORT: z.preprocess((v) => (v === '' ? undefined : v), portNumber.optional()),
  /**
   * start-import: after a Perform start whose answer was lost, how long to keep looking for the
   * import it may have made before starting again. SFMC lists an import some time after `start`;
   * too short risks a second import of the same file.
   */
  START_CONFIRM_GRACE_MS: positiveInt(300_000),
  /** `list-send serve`: requests per minute each bearer token may make on /v1 (shared across API instances through Redis). */
  API_RATE_LIMIT_PER_MINUTE: positiveInt(120),
  /** `list-send serve`: failed dashboard logins per minute from one client IP before /ui answers 429. */
  DASHBOARD_LOGIN_FAILURES_PER_MINUTE: positiveInt(10),
  /** A bearer token /metrics then requires (the API's and a worker's); unset, /metrics is open. */
  METRICS_TOKEN: optionalText,
  /**
   * The one local folder runs may upload from (issue #10): a run's `file.path` must resolve inside
   * it. Producers refuse other paths; a worker without it refuses every run with a file.
   */
  UPLOAD_DIR: optionalText.refine((v) => v === undefined || isAbsolute(v), { message: 'must be an absolute path' }),
  /** Largest file an upload reads (default 5 GiB); checked before reading and enforced while reading. */
  UPLOAD_MAX_BYTES: positiveInt(5 * 1024 ** 3),
  /** The upload step's deadline (default 2 h); at most 24 h, as an upload holds an SFTP connection throughout. */
  UPLOAD_TIMEOUT_MS: positiveInt(2 * 3_600_000).pipe(z.number().max(86_400_000, 'must be at most 86400000 (24 h)')),
  /**
   * Distinct emails an upload's duplicate check remembers (8 bytes each, in a table of up to 4/3 as
   * many slots, rounded up to a power of two): the default 786,432 is an 8 MiB table. Past it, later
   * repeats go unnoticed and the report says so; SFMC counts repeats itself. At most 50,331,648 (512 MiB).
   */
  UPLOAD_MAX_DISTINCT_EMAILS: positiveInt(DEFAULT_MAX_DISTINCT_EMAILS).pipe(z.number().max(50_331_648, 'must be at most 50331648 (a 512 MiB table)')),
  /**
   * `list-send worker`: resolve-list Retrieves the request's Email before anything changes (`true`,
   * the default). `false` skips the check, for an account whose SOAP Retrieve of Email does not see
   * its emails (the docs say SOAP covers Classic emails; Content Builder emails are UNVERIFIED).
   */
  SFMC_CHECK_EMAIL: z.enum(['true', 'false'], { message: 'must be true or false' }).default('true'),
  /**
   * OAuth2: how long before its expiry a token is replaced (default 60 s, issue #14). SFMC's tokens
   * live 1,079 s, so 60 s means 4 token requests an hour, the least for a client that never sends
   * an expired token; the margin covers clock skew and a call in flight when the token runs out.
   * At most 15 minutes: a margin near the token's lifetime would fetch a token for every call.
   */
  SFMC_TOKEN_REFRESH_MARGIN_MS: z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .min(0, 'must be 0 or more')
    .max(900_000, 'must be at most 900000 (15 min; SFMC tokens live about 18 min)')
    .default(60_000),
}).superRefine((env, ctx) => {
  checkEndpoints(env, 'SFMC_', allowedHttpHosts(env.SFMC_ALLOW_HTTP_HOSTS), ctx);
  // Each shard's prefix is QUEUE_PREFIX with its number added inside the hash tag.
  if (env.QUEUE_SHARDS > 1 && !hasHashTag(env.QUEUE_PREFIX)) {
    ctx.addIssue({ code: 'custom', path: ['QUEUE_PREFIX'], message: 'must hold a {hash tag} (such as {list-send}) when QUEUE_SHARDS is more than 1' });
  }
});

/** The endpoint rule for one account's AUTH_URL and SOAP_URL (SFMC_ALLOW_HTTP_HOSTS is shared by every account). */
function checkEndpoints(values: Record<string, unknown>, prefix: string, allowed: string[], ctx: z.RefinementCtx): void {
  for (const field of ENDPOINT_FIELDS) {
    const name = `${prefix}${field}`;
    const value = values[name];
    if (typeof value === 'string' && !httpAllowed(value, allowed)) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: 'must use https:// (plain http:// is accepted only for loopback hosts and SFMC_ALLOW_HTTP_HOSTS)',
      });
    }
  }
}

export type Env = z.infer<typeof envSchema>;

export type SfmcAuthConfig =
  | {
      mode: 'oauth2';
      /** Base URL; the token endpoint is `${authUrl}/v2/token`. */
      authUrl: string;
      clientId: string;
      clientSecret: string;
      accountId?: string;
    }
  | { mode: 'wsse'; username: string; password: string };

export interface SfmcConfig {
  auth: SfmcAuthConfig;
  /** Explicit SOAP endpoint; undefined with OAuth2 means "use soap_instance_url from the token". */
  soapUrl?: string;
  timeoutMs: number;
  /** SFMC_ALLOW_HTTP_HOSTS: besides loopback, the hosts a token's soap_instance_url may name outside SFMC. */
  allowHttpHosts?: string[];
  /** SFMC_TOKEN_REFRESH_MARGIN_MS (OAuth2): replace a token this long before it expires; default 60 s (src/sfmc/auth.ts). */
  tokenRefreshMarginMs?: number;
}

export interface ApiConfig {
  /** Bearer tokens accepted on /v1; empty means none configured (serve then needs --insecure on loopback). */
  tokens: string[];
  host: string;
  port: number;
  /** Basic-auth credentials for Bull Board at /ui; undefined means the dashboard is not served. */
  dashboard?: { user: string; password: string };
  /** Requests per minute per bearer token on /v1. */
  rateLimitPerMinute: number;
  /** Failed dashboard logins per minute per client IP before /ui answers 429. */
  loginFailuresPerMinute: number;
  /** Bearer token /metrics requires; undefined means /metrics is open. */
  metricsToken?: string;
}

export interface Config {
  redisUrl: string;
  /** Set when REDIS_CLUSTER_NODES is: every connection is then a Redis Cluster client. */
  redisClusterNodes?: RedisNode[];
  /** BullMQ lock settings for `list-send worker`; undefined keeps BullMQ's defaults. */
  worker: { lockDurationMs?: number; stalledIntervalMs?: number };
  /** The account's SOAP call budget and the pause after SFMC throttles (both account-wide). */
  budget: { callsPerMinute: number; throttlePauseMs: number };
  /** START_CONFIRM_GRACE_MS: start-import's wait for the import of an unanswered Perform start. */
  startConfirmGraceMs: number;
  /** QUEUE_PREFIX: account-wide keys, and with one shard every key (src/shards.ts). */
  queuePrefix: string;
  /** QUEUE_SHARDS: sets of queues under their own hash tags that runs are spread over (src/shards.ts). */
  queueShards: number;
  sfmc?: SfmcConfig;
  /** Enhanced FTP for runs that upload their file; undefined when SFMC_SFTP_USERNAME is not set. */
  sftp?: SftpConfig;
  /**
   * The accounts SFMC_ACCOUNTS names (not the default one), by name: a request's `account` picks
   * one. Each has its own token, SOAP endpoint, call budget and SFTP.
   */
  accounts: Record<string, AccountConfig>;
  steps: { attempts: number; backoffMs: number };
  logLevel: Env['LOG_LEVEL'];
  api: ApiConfig;
  /** The worker's own /metrics port; undefined means the worker serves none. */
  metricsPort?: number;
  /** SFMC_CHECK_EMAIL: resolve-list checks the Email exists (undefined means true). */
  checkEmail?: boolean;
  /** Where runs may upload from, and the upload step's limits (UPLOAD_*). */
  upload: UploadLimits;
}

export interface UploadLimits {
  /** UPLOAD_DIR; undefined means runs with a `file` are refused. */
  dir?: string;
  maxBytes: number;
  timeoutMs: number;
  /** UPLOAD_MAX_DISTINCT_EMAILS; undefined means the validator's default (DEFAULT_MAX_DISTINCT_EMAILS). */
  maxDistinctEmails?: number;
}

/** Shortest bearer token accepted: a guessable token is no better than none. */
export const MIN_TOKEN_LENGTH = 16;

/** Shortest dashboard password accepted; failed logins are also throttled per client IP. */
export const MIN_DASHBOARD_PASSWORD_LENGTH = 12;

function apiConfig(env: Env, problems: string[]): ApiConfig {
  const tokens = (env.API_TOKENS ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  if (tokens.some((t) => t.length < MIN_TOKEN_LENGTH)) {
    problems.push(`API_TOKENS: every token must be at least ${MIN_TOKEN_LENGTH} characters (e.g. \`openssl rand -hex 32\`)`);
  }
  if (Boolean(env.DASHBOARD_USER) !== Boolean(env.DASHBOARD_PASSWORD)) {
    problems.push('DASHBOARD_USER and DASHBOARD_PASSWORD: set both to serve the dashboard, or neither');
  }
  if (env.DASHBOARD_PASSWORD && env.DASHBOARD_PASSWORD.length < MIN_DASHBOARD_PASSWORD_LENGTH) {
    problems.push(`DASHBOARD_PASSWORD: must be at least ${MIN_DASHBOARD_PASSWORD_LENGTH} characters (e.g. \`openssl rand -hex 16\`)`);
  }
  if (env.METRICS_TOKEN && env.METRICS_TOKEN.length < MIN_TOKEN_LENGTH) {
    problems.push(`METRICS_TOKEN: must be at least ${MIN_TOKEN_LENGTH} characters (e.g. \`openssl rand -hex 32\`)`);
  }
  return {
    tokens,
    host: env.API_HOST,
    port: env.API_PORT,
    ...(env.DASHBOARD_USER && env.DASHBOARD_PASSWORD ? { dashboard: { user: env.DASHBOARD_USER, password: env.DASHBOARD_PASSWORD } } : {}),
    rateLimitPerMinute: env.API_RATE_LIMIT_PER_MINUTE,
    loginFailuresPerMinute: env.DASHBOARD_LOGIN_FAILURES_PER_MINUTE,
    ...(env.METRICS_TOKEN ? { metricsToken: env.METRICS_TOKEN } : {}),
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** What every account's SOAP client shares: SFMC_TIMEOUT_MS, SFMC_ALLOW_HTTP_HOSTS, SFMC_TOKEN_REFRESH_MARGIN_MS. */
type SharedSfmcSettings = Pick<Env, 'SFMC_TIMEOUT_MS' | 'SFMC_ALLOW_HTTP_HOSTS' | 'SFMC_TOKEN_REFRESH_MARGIN_MS'>;

/** One account's SOAP settings; `p` is its variable prefix, so problems name the real variables. */
function sfmcConfig(a: AccountEnv, p: string, shared: SharedSfmcSettings, problems: string[]): SfmcConfig | undefined {
  const authBase = a.AUTH_URL ?? (a.SUBDOMAIN ? `https://${a.SUBDOMAIN}.auth.marketingcloudapis.com` : undefined);
  const soapUrl = a.SOAP_URL ?? (a.SUBDOMAIN ? `https://${a.SUBDOMAIN}.soap.marketingcloudapis.com/Service.asmx` : undefined);

  if (a.CLIENT_ID) {
    if (!a.CLIENT_SECRET) problems.push(`${p}CLIENT_SECRET: required when ${p}CLIENT_ID is set`);
    if (!authBase) problems.push(`${p}AUTH_URL or ${p}SUBDOMAIN: required for OAuth2`);
    if (!a.CLIENT_SECRET || !authBase) return undefined;
    return {
      auth: {
        mode: 'oauth2',
        authUrl: trimSlash(authBase),
        clientId: a.CLIENT_ID,
        clientSecret: a.CLIENT_SECRET,
        ...(a.ACCOUNT_ID ? { accountId: a.ACCOUNT_ID } : {}),
      },
      // An explicit SOAP_URL wins; otherwise the token response names the tenant's endpoint.
      ...(a.SOAP_URL ? { soapUrl: a.SOAP_URL } : {}),
      timeoutMs: shared.SFMC_TIMEOUT_MS,
      ...(shared.SFMC_ALLOW_HTTP_HOSTS ? { allowHttpHosts: allowedHttpHosts(shared.SFMC_ALLOW_HTTP_HOSTS) } : {}),
      tokenRefreshMarginMs: shared.SFMC_TOKEN_REFRESH_MARGIN_MS,
    };
  }
  if (a.USERNAME || a.PASSWORD) {
    if (!a.USERNAME) problems.push(`${p}USERNAME: required when ${p}PASSWORD is set`);
    if (!a.PASSWORD) problems.push(`${p}PASSWORD: required when ${p}USERNAME is set`);
    if (!soapUrl) problems.push(`${p}SOAP_URL or ${p}SUBDOMAIN: required for WS-Security`);
    if (!a.USERNAME || !a.PASSWORD || !soapUrl) return undefined;
    return {
      auth: { mode: 'wsse', username: a.USERNAME, password: a.PASSWORD },
      soapUrl,
      timeoutMs: shared.SFMC_TIMEOUT_MS,
    };
  }
  return undefined;
}

export interface SftpConfig {
  host: string;
  /** True when the host was derived from SFMC_SUBDOMAIN, a pattern not confirmed against SFMC. */
  hostDerived: boolean;
  port: number;
  username: string;
  auth: { password: string } | { privateKeyPath: string; passphrase?: string };
  /** `SHA256:<base64>` without padding; undefined means the host key is not checked (a warning is logged). */
  hostFingerprint?: string;
  /** The remote folder files go to; SFMC imports only from `/Import`. */
  dir: string;
  /** Connections one process opens at once; SFMC allows 10 per FTP account. */
  maxConnections: number;
}

/**
 * SFTP settings, present when SFMC_SFTP_USERNAME is set. The default host
 * `{SFMC_SUBDOMAIN}.ftp.marketingcloudapis.com` is UNVERIFIED: SFMC shows each account's host on
 * Setup > Data Management > FTP Accounts; set SFMC_SFTP_HOST to that.
 */
function sftpConfig(a: AccountEnv, p: string, problems: string[]): SftpConfig | undefined {
  const { SFTP_USERNAME: username, SFTP_PASSWORD: password, SFTP_PRIVATE_KEY_PATH: keyPath } = a;
  if (!username && !password && !keyPath) return undefined;
  if (!username) {
    problems.push(`${p}SFTP_USERNAME: required when ${p}SFTP_PASSWORD or ${p}SFTP_PRIVATE_KEY_PATH is set`);
    return undefined;
  }
  if (password && keyPath) problems.push(`${p}SFTP_PASSWORD and ${p}SFTP_PRIVATE_KEY_PATH: set one, not both (each wrong login counts toward SFMC's lockout)`);
  if (!password && !keyPath) problems.push(`${p}SFTP_PASSWORD or ${p}SFTP_PRIVATE_KEY_PATH: required when ${p}SFTP_USERNAME is set`);
  const host = a.SFTP_HOST ?? (a.SUBDOMAIN ? `${a.SUBDOMAIN}.ftp.marketingcloudapis.com` : undefined);
  if (!host) problems.push(`${p}SFTP_HOST or ${p}SUBDOMAIN: required for SFTP`);
  if (!host || (password && keyPath) || (!password && !keyPath)) return undefined;
  const fingerprint = a.SFTP_HOST_FINGERPRINT;
  return {
    host,
    hostDerived: a.SFTP_HOST === undefined,
    port: a.SFTP_PORT,
    username,
    auth: password
      ? { password }
      : { privateKeyPath: keyPath as string, ...(a.SFTP_PRIVATE_KEY_PASSPHRASE ? { passphrase: a.SFTP_PRIVATE_KEY_PASSPHRASE } : {}) },
    ...(fingerprint ? { hostFingerprint: `SHA256:${fingerprint.replace(/^SHA256:/, '').replace(/=$/, '')}` } : {}),
    dir: a.SFTP_DIR.replace(/(.)\/+$/, '$1'),
    maxConnections: a.SFTP_MAX_CONNECTIONS,
  };
}

/** One named account: its SOAP settings and, when its SFTP_USERNAME is set, its Enhanced FTP. */
export interface AccountConfig {
  sfmc?: SfmcConfig;
  sftp?: SftpConfig;
}

function credentialsMissing(p: string): string {
  return `SFMC credentials: set ${p}CLIENT_ID and ${p}CLIENT_SECRET (OAuth2) or ${p}USERNAME and ${p}PASSWORD (WS-Security)`;
}

/**
 * The accounts SFMC_ACCOUNTS names, each read from its SFMC_<NAME>_* variables by the default
 * account's rules (accountFields, the endpoint rule, sfmcConfig, sftpConfig).
 */
function accountsConfig(source: NodeJS.ProcessEnv, env: Env, problems: string[], options: LoadOptions): Record<string, AccountConfig> {
  const accounts: Record<string, AccountConfig> = {};
  const allowed = allowedHttpHosts(env.SFMC_ALLOW_HTTP_HOSTS);
  for (const name of env.SFMC_ACCOUNTS ?? []) {
    const p = accountPrefix(name);
    const schema = z.object(prefixedAccountShape(p)).superRefine((values, ctx) => checkEndpoints(values, p, allowed, ctx));
    const parsed = schema.safeParse(source);
    if (!parsed.success) {
      problems.push(...parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
      continue;
    }
    const values = unprefixed(parsed.data, p);
    const sfmc = sfmcConfig(values, p, env, problems);
    const sftp = sftpConfig(values, p, problems);
    if (!sfmc && options.requireSfmc && !problems.some((m) => m.startsWith(p))) problems.push(credentialsMissing(p));
    accounts[name] = { ...(sfmc ? { sfmc } : {}), ...(sftp ? { sftp } : {}) };
  }
  return accounts;
}

export interface LoadOptions {
  /** Workers need SFMC credentials; producers and the sandbox do not. */
  requireSfmc?: boolean;
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const env = parsed.data;
  const problems: string[] = [];
  const defaults = unprefixed(env, 'SFMC_');
  const sfmc = sfmcConfig(defaults, 'SFMC_', env, problems);
  const sftp = sftpConfig(defaults, 'SFMC_', problems);
  const api = apiConfig(env, problems);
  if (!sfmc && options.requireSfmc && problems.length === 0) problems.push(credentialsMissing('SFMC_'));
  const accounts = accountsConfig(source, env, problems, options);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    redisUrl: env.REDIS_URL,
    ...(env.REDIS_CLUSTER_NODES ? { redisClusterNodes: env.REDIS_CLUSTER_NODES } : {}),
    worker: {
      ...(env.WORKER_LOCK_DURATION_MS !== undefined ? { lockDurationMs: env.WORKER_LOCK_DURATION_MS } : {}),
      ...(env.WORKER_STALLED_INTERVAL_MS !== undefined ? { stalledIntervalMs: env.WORKER_STALLED_INTERVAL_MS } : {}),
    },
    startConfirmGraceMs: env.START_CONFIRM_GRACE_MS,
    budget: { callsPerMinute: env.SFMC_CALLS_PER_MINUTE, throttlePauseMs: env.THROTTLE_PAUSE_MS },
    queuePrefix: env.QUEUE_PREFIX,
    queueShards: env.QUEUE_SHARDS,
    ...(sfmc ? { sfmc } : {}),
    ...(sftp ? { sftp } : {}),
    accounts,
    steps: { attempts: env.STEP_ATTEMPTS, backoffMs: env.STEP_BACKOFF_MS },
    logLevel: env.LOG_LEVEL,
    api,
    ...(env.METRICS_PORT !== undefined ? { metricsPort: env.METRICS_PORT } : {}),
    upload: {
      ...(env.UPLOAD_DIR ? { dir: env.UPLOAD_DIR } : {}),
      maxBytes: env.UPLOAD_MAX_BYTES,
      timeoutMs: env.UPLOAD_TIMEOUT_MS,
      maxDistinctEmails: env.UPLOAD_MAX_DISTINCT_EMAILS,
    },
    checkEmail: env.SFMC_CHECK_EMAIL === 'true',
  };
}

export function requireSfmc(config: Config): SfmcConfig {
  if (!config.sfmc) throw new ConfigError([credentialsMissing('SFMC_')]);
  return config.sfmc;
}

/** Every account a request may name: `default` and SFMC_ACCOUNTS' names. */
export function accountNamesOf(config: Pick<Config, 'accounts'>): string[] {
  return [DEFAULT_ACCOUNT, ...Object.keys(config.accounts)];
}

/** Every named account's SOAP settings, for a worker: each must have credentials. */
export function requireAccounts(config: Config): Record<string, AccountConfig & { sfmc: SfmcConfig }> {
  const missing = Object.entries(config.accounts).filter(([, a]) => !a.sfmc).map(([name]) => credentialsMissing(accountPrefix(name)));
  if (missing.length > 0) throw new ConfigError(missing);
  return config.accounts as Record<string, AccountConfig & { sfmc: SfmcConfig }>;
}
