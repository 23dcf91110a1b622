import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Every secret-bearing field name the service handles, redacted wherever it appears (top level
 * and one or two levels down). Redaction is configured here once; nothing else strips secrets
 * from log lines.
 */
const SECRET_KEYS = [
  'password',
  'Password',
  'clientSecret',
  'client_secret',
  'accessToken',
  'access_token',
  'token',
  'refresh_token',
  'authorization',
  'Authorization',
  'fueloauth',
  'Security',
  'wsse:Security',
  'secret',
  'apiTokens',
  'passphrase',
  'privateKey',
];

export const REDACT_PATHS = SECRET_KEYS.flatMap((k) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`;
  const sep = key.startsWith('[') ? '' : '.';
  return [key, `*${sep}${key}`, `*.*${sep}${key}`];
});

export interface LoggerOptions {
  level?: string;
  /** Tests pass an in-memory stream and read the JSON lines back. */
  stream?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'list-send' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    options.stream ?? pino.destination({ dest: 2, sync: false }),
  );
}

/** Replaces the token and WS-Security header values in a SOAP envelope before it is logged. */
export function redactEnvelope(xml: string): string {
  return xml
    .replace(/(<(?:\w+:)?fueloauth\b[^>]*>)[\s\S]*?(<\/(?:\w+:)?fueloauth>)/g, '$1[redacted]$2')
    .replace(/(<(?:\w+:)?Password\b[^>]*>)[\s\S]*?(<\/(?:\w+:)?Password>)/g, '$1[redacted]$2')
    .replace(/(<(?:\w+:)?Username\b[^>]*>)[\s\S]*?(<\/(?:\w+:)?Username>)/g, '$1[redacted]$2');
}
