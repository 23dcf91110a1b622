import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_RESPONSE_BYTES } from '../../src/sfmc/http.js';
import { startPipeline, type Pipeline } from '../helpers/pipeline.js';
import { fixture } from '../sfmc/support.js';
import { callsTo, runToEnd, stepLogs } from '../reliability/support.js';

/**
 * Issue 6, "Bad input / responses", at the pipeline level: a proxy in front of the sandbox lets
 * the Create Send reach SFMC (so the Send exists) and then answers the worker with something
 * hostile. Each reply must become a typed error in the job's log, never a crash, a hang, an
 * expanded entity or unbounded memory, and the run must still end with exactly one Send.
 * (Parsing each shape alone is in test/sfmc/classifying-failures.test.ts and calling-soap.test.ts.)
 */

interface Hostile {
  status?: number;
  contentType?: string;
  /** A fixed body, or a writer that streams one. */
  body: string | ((res: ServerResponse) => void);
}

/** Forwards to the sandbox; the next Create Send is committed there, then answered with `hostile`. */
class HostileProxy {
  private server?: Server;
  hostile?: Hostile;
  /** Bytes the last streamed body got written before the worker hung up. */
  streamed = 0;

  /** The sandbox's base URL; set once it is known. */
  upstream = '';

  get soapUrl(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/Service.asmx`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const upstream = await fetch(`${this.upstream}${req.url ?? ''}`, {
      method: 'POST',
      headers: { 'content-type': String(req.headers['content-type']), soapaction: String(req.headers['soapaction']) },
      body,
    });
    const text = await upstream.text();
    const hostile = this.hostile;
    if (!hostile || req.headers['soapaction'] !== 'Create' || !body.includes('xsi:type="Send"')) {
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/xml' });
      res.end(text);
      return;
    }
    this.hostile = undefined; // once: the retry's lookup and anything after it pass through
    if (typeof hostile.body === 'function') return hostile.body(res);
    res.writeHead(hostile.status ?? 200, { 'content-type': hostile.contentType ?? 'text/xml; charset=utf-8' });
    res.end(hostile.body);
  }

  /** An endless text/xml body with no Content-Length, written as fast as the worker reads it. */
  endless(): Hostile {
    return {
      body: (res) => {
        this.streamed = 0;
        res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' });
        const chunk = Buffer.alloc(1024 * 1024, 'x');
        res.write('<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><CreateResponse>');
        const pump = () => {
          while (!res.destroyed && this.streamed < 20 * DEFAULT_MAX_RESPONSE_BYTES) {
            this.streamed += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
        };
        pump();
      },
    };
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

describe('hostile replies to Create Send, after SFMC created it', () => {
  let p: Pipeline;
  let proxy: HostileProxy;
  const secretDir = mkdtempSync(join(tmpdir(), 'list-send-xxe-'));
  const secretFile = join(secretDir, 'secret.txt');
  writeFileSync(secretFile, 'XXE-MARKER-7f3a9c');

  beforeAll(async () => {
    proxy = new HostileProxy();
    await proxy.start();
    p = await startPipeline({ label: 'hostile-replies', env: { SFMC_SOAP_URL: proxy.soapUrl } });
    proxy.upstream = p.sandbox.url;
  });
  afterAll(async () => {
    await p?.close();
    await proxy?.close();
    rmSync(secretDir, { recursive: true, force: true });
  });
  beforeEach(() => p.sandbox.reset());

  const REPLIES: [string, () => Hostile, RegExp][] = [
    ['truncated XML', () => ({ body: fixture('create-send.response.xml').slice(0, 180) }), /bad-response: .*truncated or malformed/],
    ['a body that is not XML', () => ({ contentType: 'text/plain', body: 'OK, sent it' }), /http-status: SFMC answered the Create call with HTTP 200 and text\/plain instead of a SOAP message/],
    ['an HTML page with status 200', () => ({ contentType: 'text/html', body: fixture('gateway-502.html') }), /http-status: SFMC answered the Create call with HTTP 200 and text\/html/],
    ['a SOAP 1.2 envelope (wrong namespace)', () => ({ body: fixture('soap12-envelope.response.xml') }), /bad-response: .*SOAP 1\.2/],
    [
      'an envelope in an unknown namespace',
      () => ({ body: fixture('create-send.response.xml').replace('http://schemas.xmlsoap.org/soap/envelope/', 'http://example.com/not-soap') }),
      /bad-response: SFMC's reply to the Create call is not usable/,
    ],
    [
      'a DOCTYPE with an external entity (XXE)',
      () => ({
        body: `<?xml version="1.0"?><!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "file://${secretFile}">]>${fixture('create-send.response.xml').replace(/<\?xml[^>]*\?>/, '').replace('<StatusMessage>', '<StatusMessage>&xxe;')}`,
      }),
      /bad-response: .*carries a DOCTYPE, which SOAP forbids; it was refused without expanding any entity/,
    ],
    ['the billion laughs', () => ({ body: fixture('billion-laughs.response.xml') }), /bad-response: .*refused without expanding any entity/],
    ['an endless body', () => proxy.endless(), new RegExp(`bad-response: .*the reply is larger than ${DEFAULT_MAX_RESPONSE_BYTES} bytes and was not read`)],
  ];

  it.each(REPLIES)('turns %s into a typed error, then finds the Send instead of sending again', async (what, reply, reason) => {
    const runId = `hostile-${REPLIES.findIndex(([w]) => w === what)}`;
    proxy.hostile = reply();
    const status = await runToEnd(p, runId);

    expect(status.state, status.error).toBe('completed');
    expect(p.sandbox.state.sends).toHaveLength(1);
    expect(callsTo(p.sandbox, 'Create', 'Send')).toHaveLength(1);
    expect(status.result?.recovered).toBe(true);
    const logs = await stepLogs(p.prefix, runId, 'send');
    expect(logs.find((l) => l.startsWith('attempt 1 failed:'))).toMatch(reason);
    const everything = JSON.stringify({ logs, lines: p.logLines(), status });
    expect(everything).not.toContain('XXE-MARKER-7f3a9c');
    expect(everything).not.toContain('lollollol');
    if (what === 'an endless body') {
      // The worker read up to the cap and hung up: what got written is the cap plus socket
      // buffers, out of the 20 caps the proxy would have sent. Memory is bounded by the cap.
      expect(proxy.streamed).toBeGreaterThanOrEqual(DEFAULT_MAX_RESPONSE_BYTES);
      expect(proxy.streamed).toBeLessThan(DEFAULT_MAX_RESPONSE_BYTES + 16 * 1024 * 1024);
    }
  });
});
