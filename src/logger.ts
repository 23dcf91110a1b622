import { pino, type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Every secret-bearing field name the service handles, redacted wherever it appears: in the object
 * a line is logged with, in a child logger's bindings and in a logged error, at the top level and
 * up to REDACT_DEPTH levels down. Redaction is configured here once; nothing else strips secrets
 * from log lines.
 */
export const SECRET_KEYS: readonly string[] = [
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

const SECRET = new Set(SECRET_KEYS);
const CENSOR = '[redacted]';
/** How deep below a line's own fields a secret-named key is still found (an array counts as a level; pino's paths went two). */
export const REDACT_DEPTH = 8;

/**
 * `value` with every secret-named key's value censored, down to REDACT_DEPTH levels; the value
 * itself, not a copy, when it holds none (the common case costs a Set lookup per key). What is
 * walked is what JSON prints: an object's own enumerable fields (a class instance's too), or what
 * its toJSON returns. Objects and arrays on the way to a secret are copied as JSON would print
 * them, never changed in place: a logged object stays the caller's. Byte arrays, Maps and Sets are
 * not walked (JSON prints none of their keys).
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (value === null || typeof value !== 'object' || depth > REDACT_DEPTH) return value;
  if (ArrayBuffer.isView(value) || value instanceof Map || value instanceof Set) return value;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    const printed: unknown = toJSON.call(value);
    const redacted = redactSecrets(printed, depth);
    return (redacted === printed ? value : redacted) as T;
  }
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const r = redactSecrets(v, depth + 1);
      if (r !== v) (copy ??= value.slice())[i] = r;
    }
    return (copy ?? value) as T;
  }
  return redactFields(value as Record<string, unknown>, depth) as T;
}

/** redactSecrets over an object's own fields, leaving those named in `skip` as they are. */
function redactFields(record: Record<string, unknown>, depth: number, skip?: ReadonlySet<string>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(record)) {
    if (skip?.has(key)) continue;
    const v = record[key];
    const r = SECRET.has(key) && v !== undefined ? CENSOR : redactSecrets(v, depth + 1);
    if (r !== v) (copy ??= { ...record })[key] = r;
  }
  return copy ?? record;
}

/**
 * Why not pino's `redact` with wildcard paths (`*.password`, `*.*.password`, as before): pino
 * applies a wildcard redactor to every value of every line and of every child's bindings, about
 * 30 µs a line here (bench item 1: a twentieth of the pipeline's CPU per run, for five "step
 * completed" lines). The walk above costs a Set lookup per key. pino's own redaction stays for the
 * top-level names (compiled per key, no wildcard), which also covers values pino formats into a
 * message (`%o`) and `setBindings`.
 *
 * Three places reach every field: `formatters.log` (the logged object), the `err` serializer
 * (the serialised error: it keeps its type, message and stack), and `child` (pino's child() does
 * not pass bindings through the bindings formatter, so the root logger's `child` walks them
 * first; children inherit it). formatters.log runs before pino's serializers, so it leaves the
 * fields that have one: `err` (walked by ours), and Fastify's `req` and `res` (src/api/app.ts
 * prints method, URL with secret query values replaced, host and address; Fastify's `res` the
 * status code): walking a request object would copy it without the getters its serializer reads.
 */
export interface LoggerOptions {
  level?: string;
  /** Tests pass an in-memory stream and read the JSON lines back. */
  stream?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: { service: 'list-send' },
      redact: { paths: SECRET_KEYS.map((k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`)), censor: CENSOR },
      serializers: { err: (err: Error) => redactSecrets(pino.stdSerializers.err(err)) },
      formatters: { log: redactLogObject },
    },
    options.stream ?? pino.destination({ dest: 2, sync: false }),
  );
  type Child = (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) => Logger;
  const pinoChild = logger.child as unknown as Child;
  const child: Child = function (bindings, childOptions) {
    return pinoChild.call(this, redactSecrets(bindings), childOptions);
  };
  logger.child = child as unknown as Logger['child'];
  return logger;
}

/** Fields printed by a serializer, not as they are (see above). */
const SERIALIZED = new Set(['err', 'req', 'res']);

function redactLogObject(object: Record<string, unknown>): Record<string, unknown> {
  return redactFields(object, 0, SERIALIZED);
}

/** Replaces the token and WS-Security header values in a SOAP envelope before it is logged. */
export function redactEnvelope(xml: string): string {
  return xml
    .replace(/(<(?:\w+:)?fueloauth\b[^>]*>)[\s\S]*?(<\/(?:\w+:)?fueloauth>)/g, '$1[redacted]$2')
    .replace(/(<(?:\w+:)?Password\b[^>]*>)[\s\S]*?(<\/(?:\w+:)?Password>)/g, '$1[redacted]$2')
    .replace(/(<(?:\w+:)?Username\b[^>]*>)[\s\S]*?(<\/(?:\w+:)?Username>)/g, '$1[redacted]$2');
}
