import { z } from 'zod';

/**
 * Configuration comes from the environment and is validated once at boot. Error messages name the
 * variable and the rule it broke, never the value: a mistyped secret must not land in a log.
 */

export const SECRET_VARIABLES = [
  'SFMC_CLIENT_SECRET',
  'SFMC_PASSWORD',
  'SFMC_SFTP_PASSWORD',
  'API_TOKENS',
  'DASHBOARD_PASSWORD',
] as const;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** https everywhere, except plain http to this machine (the sandbox). */
const endpointUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
    return;
  }
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return;
  ctx.addIssue({ code: 'custom', message: 'must use https:// (plain http:// is accepted only for loopback hosts)' });
});

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const positiveInt = (fallback: number) =>
  z.coerce.number({ message: 'must be a number' }).int('must be a whole number').positive('must be positive').default(fallback);

export const envSchema = z.object({
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9{}_-]+$/, 'may hold only letters, digits, {, }, _ and -')
    .default('{list-send}'),
  SFMC_SUBDOMAIN: z
    .string()
    .regex(/^[a-z0-9-]+$/i, 'must be the tenant subdomain alone (letters, digits, -)')
    .optional(),
  SFMC_AUTH_URL: endpointUrl.optional(),
  SFMC_SOAP_URL: endpointUrl.optional(),
  SFMC_CLIENT_ID: optionalText,
  SFMC_CLIENT_SECRET: optionalText,
  SFMC_ACCOUNT_ID: z.string().regex(/^\d+$/, 'must be the numeric MID of the business unit').optional(),
  SFMC_USERNAME: optionalText,
  SFMC_PASSWORD: optionalText,
  SFMC_TIMEOUT_MS: positiveInt(120_000),
  STEP_ATTEMPTS: positiveInt(5),
  STEP_BACKOFF_MS: positiveInt(10_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

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
}

export interface Config {
  redisUrl: string;
  queuePrefix: string;
  sfmc?: SfmcConfig;
  steps: { attempts: number; backoffMs: number };
  logLevel: Env['LOG_LEVEL'];
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

function sfmcConfig(env: Env, problems: string[]): SfmcConfig | undefined {
  const authBase =
    env.SFMC_AUTH_URL ?? (env.SFMC_SUBDOMAIN ? `https://${env.SFMC_SUBDOMAIN}.auth.marketingcloudapis.com` : undefined);
  const soapUrl =
    env.SFMC_SOAP_URL ??
    (env.SFMC_SUBDOMAIN ? `https://${env.SFMC_SUBDOMAIN}.soap.marketingcloudapis.com/Service.asmx` : undefined);

  if (env.SFMC_CLIENT_ID) {
    if (!env.SFMC_CLIENT_SECRET) problems.push('SFMC_CLIENT_SECRET: required when SFMC_CLIENT_ID is set');
    if (!authBase) problems.push('SFMC_AUTH_URL or SFMC_SUBDOMAIN: required for OAuth2');
    if (!env.SFMC_CLIENT_SECRET || !authBase) return undefined;
    return {
      auth: {
        mode: 'oauth2',
        authUrl: trimSlash(authBase),
        clientId: env.SFMC_CLIENT_ID,
        clientSecret: env.SFMC_CLIENT_SECRET,
        ...(env.SFMC_ACCOUNT_ID ? { accountId: env.SFMC_ACCOUNT_ID } : {}),
      },
      // An explicit SFMC_SOAP_URL wins; otherwise the token response names the tenant's endpoint.
      ...(env.SFMC_SOAP_URL ? { soapUrl: env.SFMC_SOAP_URL } : {}),
      timeoutMs: env.SFMC_TIMEOUT_MS,
    };
  }
  if (env.SFMC_USERNAME || env.SFMC_PASSWORD) {
    if (!env.SFMC_USERNAME) problems.push('SFMC_USERNAME: required when SFMC_PASSWORD is set');
    if (!env.SFMC_PASSWORD) problems.push('SFMC_PASSWORD: required when SFMC_USERNAME is set');
    if (!soapUrl) problems.push('SFMC_SOAP_URL or SFMC_SUBDOMAIN: required for WS-Security');
    if (!env.SFMC_USERNAME || !env.SFMC_PASSWORD || !soapUrl) return undefined;
    return {
      auth: { mode: 'wsse', username: env.SFMC_USERNAME, password: env.SFMC_PASSWORD },
      soapUrl,
      timeoutMs: env.SFMC_TIMEOUT_MS,
    };
  }
  return undefined;
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
  const sfmc = sfmcConfig(env, problems);
  if (!sfmc && options.requireSfmc && problems.length === 0) {
    problems.push('SFMC credentials: set SFMC_CLIENT_ID and SFMC_CLIENT_SECRET (OAuth2) or SFMC_USERNAME and SFMC_PASSWORD (WS-Security)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    redisUrl: env.REDIS_URL,
    queuePrefix: env.QUEUE_PREFIX,
    ...(sfmc ? { sfmc } : {}),
    steps: { attempts: env.STEP_ATTEMPTS, backoffMs: env.STEP_BACKOFF_MS },
    logLevel: env.LOG_LEVEL,
  };
}

export function requireSfmc(config: Config): SfmcConfig {
  if (!config.sfmc) {
    throw new ConfigError([
      'SFMC credentials: set SFMC_CLIENT_ID and SFMC_CLIENT_SECRET (OAuth2) or SFMC_USERNAME and SFMC_PASSWORD (WS-Security)',
    ]);
  }
  return config.sfmc;
}
