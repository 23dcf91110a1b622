import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { XSI_NS } from '../../src/sfmc/envelope.js';
import { SfmcError } from '../../src/sfmc/errors.js';
import { wsdlAvailable, wsdlPath } from '../helpers/xsd.js';

/** The recorded XML replies in test/fixtures/sfmc. */
export function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/sfmc/${name}`, import.meta.url), 'utf8');
}

/**
 * The Body's child of a built envelope as a standalone document, the shape libxml2Validate takes:
 * the child already declares the partnerAPI default namespace; xsi was declared on the Envelope,
 * so it is copied onto the new root.
 */
export function bodyDocument(envelope: string): string {
  const inner = /<soap:Body>([\s\S]*)<\/soap:Body>/.exec(envelope)?.[1];
  if (!inner) throw new Error('no soap:Body in the envelope');
  return inner.replace(/^<([A-Za-z][\w.-]*)/, `<$1 xmlns:xsi="${XSI_NS}"`);
}

export const schemaAvailable = wsdlAvailable();

export function schemaSkipNotice(file: string): void {
  if (!schemaAvailable) {
    console.warn(
      `[${file}] schema checks skipped: no SFMC partner WSDL at ${wsdlPath()}. Download ` +
        'https://{subdomain}.soap.marketingcloudapis.com/etframework.wsdl and set SFMC_WSDL_PATH to it.',
    );
  }
}

// ---------------------------------------------------------------------------------------------
// A scripted loopback HTTP server, for client behaviour the sandbox does not model (odd replies,
// hangs, huge bodies) and for capturing exactly what the client sends.

export interface StubRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface StubReply {
  status?: number;
  contentType?: string;
  body?: string | Buffer;
  /** Never answer (the client's deadline must fire). */
  hang?: boolean;
  /** Destroy the socket without answering, after reading the request. */
  reset?: boolean;
  /** Send the body in 4 KiB pieces with Transfer-Encoding: chunked, without a Content-Length. */
  chunked?: boolean;
}

export interface Stub {
  url: string;
  requests: StubRequest[];
  close(): Promise<void>;
}

export async function startStub(handler: (req: StubRequest) => StubReply | Promise<StubReply>): Promise<Stub> {
  const requests: StubRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded: StubRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      void Promise.resolve(handler(recorded)).then((reply) => {
        if (reply.hang) return;
        if (reply.reset) {
          req.socket.destroy();
          return;
        }
        res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'text/xml; charset=utf-8' });
        const body = Buffer.from(reply.body ?? '');
        if (reply.chunked) for (let at = 0; at < body.length; at += 4096) res.write(body.subarray(at, at + 4096));
        res.end(reply.chunked ? undefined : body);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const REPLY_OPEN =
  '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Body>';
const REPLY_CLOSE = '</soap:Body></soap:Envelope>';
const PARTNER = 'xmlns="http://exacttarget.com/wsdl/partnerAPI"';

export function soapReply(bodyChild: string): StubReply {
  return { status: 200, body: `${REPLY_OPEN}${bodyChild}${REPLY_CLOSE}` };
}

export function retrieveReply(results: string, options: { status?: string; requestId?: string } = {}): StubReply {
  return soapReply(
    `<RetrieveResponseMsg ${PARTNER}><OverallStatus>${options.status ?? 'OK'}</OverallStatus><RequestID>${options.requestId ?? 'req-1'}</RequestID>${results}</RetrieveResponseMsg>`,
  );
}

export function createReply(newId = '4242', newObjectId = 'b026fa12-28c3-de11-8abe-001cc494a3a4'): StubReply {
  return soapReply(
    `<CreateResponse ${PARTNER}><Results><StatusCode>OK</StatusCode><StatusMessage>Created.</StatusMessage><OrdinalID>0</OrdinalID><NewID>${newId}</NewID><NewObjectID>${newObjectId}</NewObjectID></Results><RequestID>req-c</RequestID><OverallStatus>OK</OverallStatus></CreateResponse>`,
  );
}

export function performReply(taskId = '129159023'): StubReply {
  return soapReply(
    `<PerformResponseMsg ${PARTNER}><Results><Result><StatusCode>OK</StatusCode><StatusMessage>ImportDefinition performed</StatusMessage><Task><StatusCode>OK</StatusCode><StatusMessage>OK</StatusMessage><ID>${taskId}</ID></Task></Result></Results><OverallStatus>OK</OverallStatus><OverallStatusMessage/><RequestID>req-p</RequestID></PerformResponseMsg>`,
  );
}

/** A canned success for whatever operation the request names in SOAPAction. */
export function okReplyFor(req: StubRequest): StubReply {
  const action = req.headers['soapaction'];
  if (action === 'Create') return createReply();
  if (action === 'Perform') return performReply();
  return retrieveReply('');
}

/** The SfmcError a call failed with; fails the test if it succeeded or threw something else. */
export async function rejection(promise: Promise<unknown>): Promise<SfmcError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SfmcError);
    return err as SfmcError;
  }
  throw new Error('expected the call to fail');
}
