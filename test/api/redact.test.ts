import { describe, expect, it } from 'vitest';
import { redactDeep, redactText } from '../../src/api/redact.js';

describe('redacting free text for the dashboard', () => {
  it('replaces configured secret values wherever they appear', () => {
    expect(redactText('login failed for pw hunter2-long-pw!', ['hunter2-long-pw'])).toBe('login failed for pw [redacted]!');
  });

  it('replaces credential-shaped text: bearer and basic headers, secret-named pairs, JWTs, long opaque tokens, SOAP credentials', () => {
    const cases: [string, string][] = [
      ['Authorization: Bearer abc.def-123', 'Authorization: Bearer [redacted]'],
      ['sent Bearer abc.def-123 to SFMC', 'sent Bearer [redacted] to SFMC'],
      ['{"authorization":"Basic b3BzOnB3"}', '{"authorization":"Basic [redacted]"}'],
      ['authorization=opaque', 'authorization=[redacted]'],
      ['token_0123456789abcdef0123456789abcdef', 'token_[redacted]'],
      ['client_secret=s3cr3t&grant_type=client_credentials', 'client_secret=[redacted]&grant_type=client_credentials'],
      ['{"accessToken":"tok-1","expires_in":1080}', '{"accessToken":"[redacted]","expires_in":1080}'],
      ["password: 'pa55'", "password: '[redacted]'"],
      ['got eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_nature back', 'got [redacted] back'],
      ['key 0123456789abcdef0123456789abcdef0123 end', 'key [redacted] end'],
      ['<fueloauth xmlns="http://exacttarget.com">tok</fueloauth>', '<fueloauth xmlns="http://exacttarget.com">[redacted]</fueloauth>'],
      ['<wsse:Password Type="x">pw</wsse:Password>', '<wsse:Password Type="x">[redacted]</wsse:Password>'],
    ];
    for (const [input, expected] of cases) expect(redactText(input), input).toBe(expected);
  });

  it('keeps what an operator needs: run and job ids, UUIDs, file names, stack frames, SFMC error text', () => {
    const kept = [
      'newsletter-2026-12-01-send',
      '550e8400-e29b-41d4-a716-446655440000',
      'at wrapStep (/work/wt-h2-api/node_modules/bullmq/dist/cjs/classes/worker_with_a_long_file_name.js:10:5)',
      'ImportDefinition SAP_List.csv: ErrorCode 180008 Object reference not set to an instance of an object',
      'the token expired; refreshing',
      'UnrecoverableErrorFromTheImportStepAfterAllAttempts',
      'Newsletter_List_2026_December_Edition_Final_v2',
      'Basic validation failed: the request needs an authorization header',
    ];
    for (const text of kept) expect(redactText(text), text).toBe(text);
  });

  it('walks whole response bodies: secret-named keys and every string', () => {
    const body = { job: { failedReason: 'bad token=abc', stacktrace: ['Error: Bearer xyz'], data: { token: { nested: 1 } }, attemptsMade: 2 } };
    expect(redactDeep(body)).toEqual({
      job: { failedReason: 'bad token=[redacted]', stacktrace: ['Error: Bearer [redacted]'], data: { token: '[redacted]' }, attemptsMade: 2 },
    });
  });
});
