import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { MemoryTokenStore, type TokenStore } from '../../src/sfmc/auth.js';
import { createSfmcClient, type SfmcClient } from '../../src/sfmc/client.js';

/** Logs as data: JSON lines from an in-memory stream, checked for content and redaction. */

function memoryLogger() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'trace', stream: { write: (line: string) => void lines.push(line) } });
  return { logger, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

let sandbox: Sandbox | undefined;
const clients: SfmcClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await sandbox?.close();
  sandbox = undefined;
});

describe('logging SFMC calls', () => {
  it('writes one debug line per call and never a token, secret or password', async () => {
    sandbox = await createSandbox();
    const sb = sandbox;
    const { logger, lines, records } = memoryLogger();
    const tokens: string[] = [];
    const store = new MemoryTokenStore();
    const recording: TokenStore = { get: (k) => store.get(k), set: (k, r) => (tokens.push(r.accessToken), store.set(k, r)) };

    const oauth = createSfmcClient({
      config: {
        auth: { mode: 'oauth2', authUrl: sb.url, clientId: sb.credentials.clientId, clientSecret: sb.credentials.clientSecret },
        timeoutMs: 10_000,
      },
      logger,
      tokenStore: recording,
    });
    const wsse = createSfmcClient({
      config: {
        auth: { mode: 'wsse', username: sb.credentials.username, password: sb.credentials.password },
        soapUrl: sb.soapUrl,
        timeoutMs: 10_000,
      },
      logger,
    });
    const refused = createSfmcClient({
      config: { auth: { mode: 'oauth2', authUrl: sb.url, clientId: sb.credentials.clientId, clientSecret: 'Wrong-Secret-77' }, timeoutMs: 10_000 },
      logger,
    });
    clients.push(oauth, wsse, refused);

    await oauth.retrieveListsByName('Sample_List');
    sb.faults.inject({ operation: 'Retrieve', kind: 'token-expired' });
    await oauth.retrieveListById('123');
    await wsse.createSend({ emailId: '123', listId: '123' });
    // A failing call, with its error logged the way the worker wrapper would.
    await refused.retrieveListById('123').catch((err: unknown) => logger.error({ err }, 'step failed'));

    expect(tokens).toHaveLength(2);
    const all = lines.join('\n');
    for (const secret of [...tokens, sb.credentials.clientSecret, sb.credentials.password, 'Wrong-Secret-77']) {
      expect(all).not.toContain(secret);
    }

    const calls = records().filter((r) => r['msg'] === 'sfmc call');
    expect(calls.map((r) => [r['level'], r['component'], r['operation'], r['objectType'], r['outcome']])).toEqual([
      [20, 'sfmc', 'Retrieve', 'List', 'ok'],
      [20, 'sfmc', 'Retrieve', 'List', 'ok'],
      [20, 'sfmc', 'Create', 'Send', 'ok'],
      [20, 'sfmc', 'Retrieve', 'List', 'auth-failed'],
    ]);
    expect(calls.every((r) => typeof r['durationMs'] === 'number')).toBe(true);
    expect(calls[1]).toMatchObject({ attempts: 2, tokenRefreshed: true });

    // Envelopes are logged at trace with the header values replaced.
    const envelopes = records()
      .filter((r) => r['msg'] === 'sfmc request')
      .map((r) => String(r['envelope']));
    expect(envelopes.some((e) => e.includes('<fueloauth xmlns="http://exacttarget.com">[redacted]</fueloauth>'))).toBe(true);
    expect(envelopes.some((e) => /<wsse:Password Type="[^"]+">\[redacted\]<\/wsse:Password>/.test(e))).toBe(true);
    expect(envelopes.some((e) => e.includes('<wsse:Username>[redacted]</wsse:Username>'))).toBe(true);
  });

  it('redacts secret-named fields centrally wherever a caller logs them', () => {
    const { logger, records } = memoryLogger();
    const child = logger.child({ component: 'sfmc' });
    child.info({ accessToken: 'tok-123', auth: { clientSecret: 'sec-456', password: 'pw-789' } }, 'config echo');
    const [line] = records();
    expect(line).toMatchObject({ accessToken: '[redacted]', auth: { clientSecret: '[redacted]', password: '[redacted]' } });
    expect(JSON.stringify(line)).not.toMatch(/tok-123|sec-456|pw-789/);
  });
});
