import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { seedRequest, startPipeline, type Pipeline } from '../helpers/pipeline.js';

/**
 * Issue #10: a token endpoint that names a SOAP endpoint outside SFMC (another host, plain http)
 * must not receive the access token. The forged host is a second local HTTP server counting the
 * requests it gets, reached by this machine's host name: a name the rule does not treat as
 * loopback, so it must refuse it, yet one that reaches the counter if the rule were missing.
 */

interface Counter {
  url: string;
  hits: () => number;
  close(): Promise<void>;
}

async function startCounter(): Promise<Counter> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    req.resume();
    res.writeHead(200, { 'content-type': 'text/xml' }).end('');
  });
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${hostname()}:${port}/`,
    hits: () => hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("a forged soap_instance_url in the token response", () => {
  let p: Pipeline | undefined;
  let counter: Counter | undefined;
  afterEach(async () => {
    await p?.close();
    await counter?.close();
    p = undefined;
    counter = undefined;
  });

  it('fails the run fatally on its first attempt, and no SOAP request reaches the forged host', async () => {
    counter = await startCounter();
    // The test can fail: the forged URL does reach the counter when something posts to it.
    const probe = await fetch(`${counter.url}Service.asmx`, { method: 'POST', body: '' });
    await probe.arrayBuffer();
    expect(counter.hits(), `${counter.url} must reach the counting server for this test to mean anything`).toBe(1);

    p = await startPipeline({ label: 'forged-soap', auth: 'oauth2-soap-from-token', sandbox: { soapInstanceUrl: counter.url } });
    await p.producer.enqueue(seedRequest({ runId: 'forged-1' }));
    const status = await p.producer.waitUntilFinished('forged-1', { timeoutMs: 20_000 });

    expect(status.state).toBe('failed');
    expect(status.error).toMatch(
      /^resolve-list: bad-response: the token response's soap_instance_url was refused: it must use https:\/\/ on a host under \.marketingcloudapis\.com/,
    );
    // Fatal: no retry.
    expect(status.steps.find((s) => s.step === 'resolve-list')?.attemptsMade).toBe(1);
    // The rule is named, the URL (whatever it holds) is not echoed.
    expect(status.error).not.toContain(counter.url);
    expect(status.error).not.toContain(hostname());
    expect(counter.hits()).toBe(1);
    expect(p.sandbox.calls().map((c) => c.operation)).toEqual(['token']);
    expect(p.sandbox.state.sends).toHaveLength(0);
  });

  it('refuses plain http to an SFMC-looking host the same way, before any request', async () => {
    p = await startPipeline({
      label: 'forged-soap-http',
      auth: 'oauth2-soap-from-token',
      sandbox: { soapInstanceUrl: 'http://mc1.soap.marketingcloudapis.com/' },
    });
    await p.producer.enqueue(seedRequest({ runId: 'forged-2' }));
    const status = await p.producer.waitUntilFinished('forged-2', { timeoutMs: 20_000 });

    expect(status.state).toBe('failed');
    expect(status.error).toMatch(/soap_instance_url was refused/);
    expect(status.steps.find((s) => s.step === 'resolve-list')?.attemptsMade).toBe(1);
    expect(p.sandbox.calls().map((c) => c.operation)).toEqual(['token']);
  });

  it('still takes the SOAP endpoint from the token when it is the sandbox on loopback', async () => {
    p = await startPipeline({ label: 'token-soap-ok', auth: 'oauth2-soap-from-token' });
    await p.producer.enqueue(seedRequest({ runId: 'from-token' }));
    const status = await p.producer.waitUntilFinished('from-token', { timeoutMs: 20_000 });
    expect(status.state).toBe('completed');
  });
});
