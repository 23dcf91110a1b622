import { describe, expect, it } from 'vitest';
import { createLogger, REDACT_DEPTH, redactSecrets, SECRET_KEYS } from '../../src/logger.js';
import { SfmcError } from '../../src/sfmc/errors.js';

/** Every secret-named field, wherever a caller puts it, leaves the log line as [redacted]. */

function memoryLogger() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'trace', stream: { write: (line: string) => void lines.push(line) } });
  return { logger, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** A value of `key` at `depth` levels below the top: { a: { a: { key: value } } } for depth 2. */
function nested(key: string, value: unknown, depth: number): Record<string, unknown> {
  let o: Record<string, unknown> = { [key]: value };
  for (let i = 0; i < depth; i++) o = { a: o };
  return o;
}

describe('redacting secrets in log lines', () => {
  it.each(SECRET_KEYS)('censors %s at every depth up to REDACT_DEPTH: in the logged object, a child’s bindings and an error', (key) => {
    const { logger, lines } = memoryLogger();
    for (let depth = 0; depth <= REDACT_DEPTH; depth++) {
      logger.info(nested(key, `s3cret-obj-${depth}`, depth), 'object');
      logger.child(nested(key, `s3cret-bind-${depth}`, depth)).info('bindings');
      const err = Object.assign(new Error('boom'), nested(key, `s3cret-err-${depth}`, depth));
      logger.error({ err }, 'error');
    }
    expect(lines).toHaveLength(3 * (REDACT_DEPTH + 1));
    expect(lines.join('\n')).not.toMatch(/s3cret/);
    expect(lines.filter((l) => l.includes('[redacted]'))).toHaveLength(lines.length);
  });

  it('walks arrays, leaves other fields and the caller’s objects as they were', () => {
    const { logger, records } = memoryLogger();
    const config = { sfmc: { accounts: [{ name: 'emea', auth: { clientSecret: 'sec-1', clientId: 'id-1' } }] }, level: 'info' };
    const before = JSON.stringify(config);
    logger.info({ config, durationMs: 12 }, 'config echo');
    expect(records()[0]).toMatchObject({
      config: { sfmc: { accounts: [{ name: 'emea', auth: { clientSecret: '[redacted]', clientId: 'id-1' } }] }, level: 'info' },
      durationMs: 12,
    });
    expect(JSON.stringify(config)).toBe(before);
  });

  it('walks what JSON prints: a class instance’s own fields, and what toJSON returns', () => {
    const { logger, lines } = memoryLogger();
    class Settings {
      constructor(readonly auth: { password: string }) {}
      get shown() {
        return 'getters are not printed';
      }
    }
    logger.info({ settings: new Settings({ password: 'pw-1' }), printed: { toJSON: () => ({ token: 'tok-2', kept: 'yes' }) } }, 'objects');
    expect(JSON.parse(lines[0] as string)).toMatchObject({ settings: { auth: { password: '[redacted]' } }, printed: { token: '[redacted]', kept: 'yes' } });
    expect(lines[0]).not.toMatch(/pw-1|tok-2/);
  });

  it('keeps a logged error’s type, message and stack while censoring its fields', () => {
    const { logger, records } = memoryLogger();
    const err = new SfmcError('auth-failed', 'token refused', { kind: 'fatal', mayHaveTakenEffect: false, context: { operation: 'token' } });
    Object.assign(err, { request: { headers: { authorization: 'Bearer abc.def' } } });
    logger.error({ err, runId: 'r1' }, 'failed');
    const line = records()[0] as { err: Record<string, unknown>; runId: string };
    expect(line.runId).toBe('r1');
    expect(line.err).toMatchObject({ type: 'SfmcError', message: 'token refused', code: 'auth-failed', request: { headers: { authorization: '[redacted]' } } });
    expect(String(line.err['stack'])).toMatch(/token refused/);
  });

  it('returns the value itself when it holds no secret, and does not walk byte arrays', () => {
    const clean = { runId: 'r1', steps: [{ queue: 'send', attempt: 1 }], bytes: Buffer.from('password') };
    expect(redactSecrets(clean)).toBe(clean);
    expect(JSON.stringify(redactSecrets(nested('password', 'x', REDACT_DEPTH)))).toContain('"password":"[redacted]"');
    // Below REDACT_DEPTH nothing is walked (the limit is documented; pino's paths went two levels).
    const deeper = nested('password', 'x', REDACT_DEPTH + 1);
    expect(redactSecrets(deeper)).toBe(deeper);
  });
});
