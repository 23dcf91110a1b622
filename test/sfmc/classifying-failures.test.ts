import { describe, expect, it } from 'vitest';
import {
  classifyFault,
  classifyOverallStatus,
  classifyTokenResponse,
  classifyTransportError,
  resultCodeInfo,
} from '../../src/sfmc/classify.js';
import { parseEnvelope } from '../../src/sfmc/envelope.js';
import { SfmcError } from '../../src/sfmc/errors.js';
import { readCreateResponse, readRetrieveResponse } from '../../src/sfmc/responses.js';
import { fixture } from './support.js';

/** The SfmcError a call throws; fails the test when it returns instead. */
function failure(call: () => unknown): SfmcError {
  try {
    call();
  } catch (err) {
    expect(err).toBeInstanceOf(SfmcError);
    return err as SfmcError;
  }
  throw new Error('expected an SfmcError, but the call returned');
}

const verdict = (e: SfmcError) => ({ code: e.code, kind: e.kind, mayHaveTakenEffect: e.mayHaveTakenEffect });

/** A recorded reply as SFMC sends it: faults come back as HTTP 500 text/xml. */
const reply = (status: number, name: string, contentType = 'text/xml; charset=utf-8') =>
  failure(() => parseEnvelope(status, contentType, fixture(name), { operation: 'Retrieve' }));

function nodeError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

describe('classifying transport failures', () => {
  it('treats a refused connection as retryable and not sent', () => {
    const e = classifyTransportError(nodeError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9'), {
      operation: 'Create',
      phase: 'soap',
      stage: 'request',
    });
    expect(verdict(e)).toEqual({ code: 'transport', kind: 'retryable', mayHaveTakenEffect: false });
    expect(e.message).toMatch(/nothing was sent/);
  });

  it('treats a DNS failure as retryable and not sent', () => {
    const e = classifyTransportError(nodeError('ENOTFOUND'), { operation: 'Create', phase: 'soap', stage: 'request' });
    expect(verdict(e)).toEqual({ code: 'transport', kind: 'retryable', mayHaveTakenEffect: false });
  });

  it('treats a reset after the request was written as possibly taken effect', () => {
    const e = classifyTransportError(nodeError('ECONNRESET'), { operation: 'Create', phase: 'soap', stage: 'request' });
    expect(verdict(e)).toEqual({ code: 'transport', kind: 'retryable', mayHaveTakenEffect: true });
  });

  it('treats a socket closed while reading the reply as possibly taken effect', () => {
    const cause = nodeError('UND_ERR_SOCKET', 'other side closed');
    const e = classifyTransportError(new Error('terminated', { cause }), { operation: 'Create', phase: 'soap', stage: 'body' });
    expect(verdict(e)).toEqual({ code: 'transport', kind: 'retryable', mayHaveTakenEffect: true });
    expect(e.cause).toBeInstanceOf(Error);
  });

  it('treats a headers timeout as a retryable timeout that may have taken effect', () => {
    const e = classifyTransportError(nodeError('UND_ERR_HEADERS_TIMEOUT'), { operation: 'Create', phase: 'soap', stage: 'request' });
    expect(verdict(e)).toEqual({ code: 'timeout', kind: 'retryable', mayHaveTakenEffect: true });
    expect(e.message).toMatch(/SFMC_TIMEOUT_MS/);
  });

  it('treats our own deadline firing as a timeout that may have taken effect', () => {
    const reason = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    const e = classifyTransportError(reason, { operation: 'Perform', phase: 'soap', stage: 'request', timedOut: true });
    expect(verdict(e)).toEqual({ code: 'timeout', kind: 'retryable', mayHaveTakenEffect: true });
  });

  it('treats a connect timeout as a timeout before anything was sent', () => {
    const e = classifyTransportError(nodeError('UND_ERR_CONNECT_TIMEOUT'), { operation: 'Create', phase: 'soap', stage: 'request' });
    expect(verdict(e)).toEqual({ code: 'timeout', kind: 'retryable', mayHaveTakenEffect: false });
  });

  it('never says a token-endpoint failure took effect: the SOAP call was not sent', () => {
    const e = classifyTransportError(nodeError('ECONNRESET'), { operation: 'token', phase: 'token' });
    expect(verdict(e)).toEqual({ code: 'transport', kind: 'retryable', mayHaveTakenEffect: false });
  });

  it("reports the caller's cancellation as a transport error", () => {
    const e = classifyTransportError(new DOMException('aborted', 'AbortError'), {
      operation: 'Create',
      phase: 'soap',
      stage: 'request',
      callerAborted: true,
    });
    expect(verdict(e)).toEqual({ code: 'transport', kind: 'retryable', mayHaveTakenEffect: true });
    expect(e.message).toMatch(/cancelled by the caller/);
  });
});

describe('classifying replies that are not SOAP', () => {
  it('treats an HTML 502 from a gateway as a retryable http-status that may have taken effect', () => {
    const e = reply(502, 'gateway-502.html', 'text/html');
    expect(verdict(e)).toEqual({ code: 'http-status', kind: 'retryable', mayHaveTakenEffect: true });
    expect(e.context).toMatchObject({ httpStatus: 502, contentType: 'text/html' });
  });

  it('treats an HTML page mislabelled as text/xml as an http-status, not a crash', () => {
    const e = reply(503, 'gateway-502.html', 'text/xml');
    expect(verdict(e)).toEqual({ code: 'http-status', kind: 'retryable', mayHaveTakenEffect: true });
  });

  it('treats a non-SOAP 4xx as fatal and points at the endpoint', () => {
    const e = failure(() => parseEnvelope(404, 'text/html', '<html><body>Not Found</body></html>'));
    expect(verdict(e)).toEqual({ code: 'http-status', kind: 'fatal', mayHaveTakenEffect: false });
    expect(e.message).toMatch(/SOAP endpoint URL/);
  });

  it('treats HTTP 500 with an empty body as throttling', () => {
    const e = failure(() => parseEnvelope(500, undefined, ''));
    expect(verdict(e)).toEqual({ code: 'throttled', kind: 'throttled', mayHaveTakenEffect: true });
  });

  it('treats HTTP 500 with a plain-text body as throttling', () => {
    const e = failure(() => parseEnvelope(500, 'text/plain', 'Internal Server Error'));
    expect(verdict(e)).toEqual({ code: 'throttled', kind: 'throttled', mayHaveTakenEffect: true });
  });

  it('treats a 200 with an HTML body as an http-status, never a success', () => {
    const e = failure(() => parseEnvelope(200, 'text/html', '<html><body>Sign in</body></html>'));
    expect(verdict(e)).toEqual({ code: 'http-status', kind: 'retryable', mayHaveTakenEffect: true });
  });
});

describe('classifying unusable XML', () => {
  it('treats truncated XML as a retryable bad-response that may have taken effect', () => {
    const e = reply(200, 'truncated.response.xml');
    expect(verdict(e)).toEqual({ code: 'bad-response', kind: 'retryable', mayHaveTakenEffect: true });
  });

  it('refuses a DOCTYPE with an external entity without resolving it', () => {
    const e = reply(200, 'doctype-xxe.response.xml');
    expect(verdict(e)).toEqual({ code: 'bad-response', kind: 'retryable', mayHaveTakenEffect: true });
    expect(e.message).toMatch(/DOCTYPE/);
    expect(JSON.stringify({ message: e.message, context: e.context })).not.toMatch(/root:|passwd/);
  });

  it('refuses the billion-laughs document without expanding any entity', () => {
    const e = reply(200, 'billion-laughs.response.xml');
    expect(verdict(e)).toEqual({ code: 'bad-response', kind: 'retryable', mayHaveTakenEffect: true });
    expect(e.message).not.toMatch(/lollol/);
  });

  it('refuses a SOAP 1.2 envelope', () => {
    const e = reply(200, 'soap12-envelope.response.xml');
    expect(verdict(e)).toEqual({ code: 'bad-response', kind: 'retryable', mayHaveTakenEffect: true });
    expect(e.message).toMatch(/SOAP 1\.2/);
  });

  it('refuses well-formed XML whose root is not an Envelope', () => {
    const e = failure(() => parseEnvelope(200, 'text/xml', '<RetrieveResponseMsg><OverallStatus>OK</OverallStatus></RetrieveResponseMsg>'));
    expect(e.code).toBe('bad-response');
    expect(e.message).toMatch(/not a SOAP envelope/);
  });
});

describe('classifying SOAP faults', () => {
  it('recognises SFMC throttling: the documented HTTP 500 "Rate Limited" server fault envelope', () => {
    const e = reply(500, 'fault-rate-limited.xml');
    expect(verdict(e)).toEqual({ code: 'throttled', kind: 'throttled', mayHaveTakenEffect: true });
    expect(e.context).toMatchObject({ httpStatus: 500, faultString: 'Rate Limited', apiFaultCode: 17 });
  });

  it('recognises throttling by the "Rate Limited" faultstring alone, and nothing looser', () => {
    const server = (faultstring: string) => ({ faultcode: 'soap:Server', faultstring, detail: { apifault: { Code: '2', Message: faultstring } } });
    expect(classifyFault(server('Rate Limited'), { httpStatus: 500 }).code).toBe('throttled');
    expect(classifyFault(server('Rate limits apply to this report'), { httpStatus: 500 }).code).toBe('server-fault');
    expect(classifyFault({ faultcode: 'soap:Client', faultstring: 'Rate Limited' }, { httpStatus: 500 }).code).toBe('client-fault');
  });

  it('turns the Token Expired security fault into token-expired / auth-expired', () => {
    const e = reply(500, 'fault-token-expired.xml');
    expect(verdict(e)).toEqual({ code: 'token-expired', kind: 'auth-expired', mayHaveTakenEffect: false });
    expect(e.context).toMatchObject({ faultCode: 'q0:Security', faultString: 'Token Expired', httpStatus: 500 });
  });

  it('turns a Login failed security fault into a fatal security-fault', () => {
    const e = reply(500, 'fault-login-failed.xml');
    expect(verdict(e)).toEqual({ code: 'security-fault', kind: 'fatal', mayHaveTakenEffect: false });
    expect(e.message).toMatch(/Login failed/);
  });

  it('recognises a Security fault under any prefix', () => {
    const xml = fixture('fault-token-expired.xml').replaceAll('q0:', 'wsse1:').replace('xmlns:q0', 'xmlns:wsse1');
    const e = failure(() => parseEnvelope(500, 'text/xml', xml));
    expect(e.code).toBe('token-expired');
  });

  it('turns a soap:Client fault (bad SOAPAction) into a fatal client-fault', () => {
    const e = reply(500, 'fault-client-soapaction.xml');
    expect(verdict(e)).toEqual({ code: 'client-fault', kind: 'fatal', mayHaveTakenEffect: false });
    expect(e.message).toMatch(/SOAPAction/);
  });

  it('treats apifault 2 UnexpectedError as retryable and possibly committed', () => {
    const e = reply(500, 'fault-server-2.xml');
    expect(verdict(e)).toEqual({ code: 'server-fault', kind: 'retryable', mayHaveTakenEffect: true });
    expect(e.context.apiFaultCode).toBe(2);
  });

  it('treats apifault 9 InMaintenance as retryable and not taken effect', () => {
    const e = reply(500, 'fault-server-9.xml');
    expect(verdict(e)).toEqual({ code: 'server-fault', kind: 'retryable', mayHaveTakenEffect: false });
    expect(e.message).toMatch(/InMaintenance/);
  });

  it('treats apifault 11 AuthorizationFailure as fatal', () => {
    const e = reply(500, 'fault-server-11.xml');
    expect(verdict(e)).toEqual({ code: 'server-fault', kind: 'fatal', mayHaveTakenEffect: false });
    expect(e.message).toMatch(/permission/);
  });

  it('treats apifault codes 1 and 8 as retryable and an unknown code as retryable', () => {
    const withCode = (code: number) =>
      failure(() =>
        parseEnvelope(500, 'text/xml', fixture('fault-server-2.xml').replace('<Code>2</Code>', `<Code>${code}</Code>`)),
      );
    expect(verdict(withCode(1))).toEqual({ code: 'server-fault', kind: 'retryable', mayHaveTakenEffect: false });
    expect(verdict(withCode(8))).toEqual({ code: 'server-fault', kind: 'retryable', mayHaveTakenEffect: false });
    expect(verdict(withCode(77))).toEqual({ code: 'server-fault', kind: 'retryable', mayHaveTakenEffect: true });
  });

  it('treats a soap:Server fault without detail as retryable', () => {
    const e = reply(500, 'fault-server-no-detail.xml');
    expect(verdict(e)).toEqual({ code: 'server-fault', kind: 'retryable', mayHaveTakenEffect: true });
  });
});

describe('classifying token endpoint replies', () => {
  it('turns a 401 invalid_client into a fatal auth-failed naming the settings to check', () => {
    const e = classifyTokenResponse(
      401,
      JSON.stringify({ error: 'invalid_client', error_description: 'Client authentication failed.', error_uri: 'https://developer.salesforce.com/docs' }),
    );
    expect(verdict(e)).toEqual({ code: 'auth-failed', kind: 'fatal', mayHaveTakenEffect: false });
    expect(e.message).toMatch(/invalid_client/);
    expect(e.message).toMatch(/SFMC_CLIENT_SECRET/);
  });

  it('treats a 5xx from the token endpoint as retryable', () => {
    const e = classifyTokenResponse(503, '');
    expect(verdict(e)).toEqual({ code: 'http-status', kind: 'retryable', mayHaveTakenEffect: false });
  });
});

describe('classifying OverallStatus and result error codes', () => {
  it('turns ErrorCode 43030 (ImportDefinition exists) into a fatal result-error the caller can recognise', () => {
    const { value } = parseEnvelope(200, 'text/xml', fixture('create-import-definition-exists.response.xml'));
    const e = failure(() => readCreateResponse(value));
    expect(verdict(e)).toEqual({ code: 'result-error', kind: 'fatal', mayHaveTakenEffect: false });
    expect(e.context).toMatchObject({ errorCode: 43030, statusMessage: 'ImportDefinition Exists', overallStatus: 'Error' });
  });

  it('turns a Retrieve "Error: <message>" status into a fatal result-error carrying the message', () => {
    const { value } = parseEnvelope(200, 'text/xml', fixture('retrieve-unknown-object-type.response.xml'));
    const e = failure(() => readRetrieveResponse(value));
    expect(verdict(e)).toEqual({ code: 'result-error', kind: 'fatal', mayHaveTakenEffect: false });
    expect(e.context.statusMessage).toMatch(/^Unable to find a handler for object type: ImportDefiniton/);
    expect(e.message).toMatch(/Unable to find a handler/);
  });

  it('turns Has Errors into a result-error that may have taken effect, with the failing row code', () => {
    const { value } = parseEnvelope(200, 'text/xml', fixture('create-send-has-errors.response.xml'));
    const e = failure(() => readCreateResponse(value));
    expect(verdict(e)).toEqual({ code: 'result-error', kind: 'fatal', mayHaveTakenEffect: true });
    expect(e.context).toMatchObject({ errorCode: 7007, statusMessage: 'Unable to load email', overallStatus: 'Has Errors' });
  });

  it('treats ErrorCode 9999999 as retryable', () => {
    const e = classifyOverallStatus('Create', {
      OverallStatus: 'Error',
      Results: [{ StatusCode: 'Error', StatusMessage: 'A problem occurred processing your request', ErrorCode: '9999999' }],
    });
    expect(e && verdict(e)).toEqual({ code: 'result-error', kind: 'retryable', mayHaveTakenEffect: true });
  });

  it('reads the error code of a failed Perform from its Results/Result wrapper', () => {
    const e = classifyOverallStatus('Perform', {
      OverallStatus: 'Error',
      Results: { Result: [{ StatusCode: 'Error', StatusMessage: 'ImportDefinition not found', ErrorCode: '43010' }] },
    });
    expect(e?.context).toMatchObject({ errorCode: 43010 });
    expect(e?.kind).toBe('fatal');
  });

  it('knows the documented list, import and send codes as fatal and unknown codes as fatal', () => {
    for (const code of [13000, 13001, 13004, 43010, 43030, 43060, 7000, 7042, 7099, 123456]) {
      expect(resultCodeInfo(code).kind).toBe('fatal');
    }
  });

  it('treats a Retrieve answered "Error: Timeout expired" (an SFMC database timeout) as retryable', () => {
    const { value } = parseEnvelope(200, 'text/xml', fixture('retrieve-timeout-expired.response.xml'));
    const e = failure(() => readRetrieveResponse(value));
    expect(verdict(e)).toEqual({ code: 'result-error', kind: 'retryable', mayHaveTakenEffect: false });
    expect(e.context.statusMessage).toMatch(/^Timeout expired\./);
    expect(e.message).toMatch(/database timeout/);
  });

  it('treats a Retrieve answered with an SFMC database deadlock as retryable', () => {
    const status =
      'Error: Transaction (Process ID 71) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.';
    const e = classifyOverallStatus('Retrieve', { OverallStatus: status, RequestID: 'r-1' });
    expect(e && verdict(e)).toEqual({ code: 'result-error', kind: 'retryable', mayHaveTakenEffect: false });
    expect(e?.message).toMatch(/database deadlock/);
  });

  it('keeps a Retrieve of an unknown property fatal', () => {
    const status = 'Error: The Request Property(s) Colour do not match with the fields of List retrieve';
    const e = classifyOverallStatus('Retrieve', { OverallStatus: status });
    expect(e && verdict(e)).toEqual({ code: 'result-error', kind: 'fatal', mayHaveTakenEffect: false });
  });

  it('keeps a Retrieve refused for permissions fatal', () => {
    const e = classifyOverallStatus('Retrieve', { OverallStatus: 'Error: API Permission Failed' });
    expect(e && verdict(e)).toEqual({ code: 'result-error', kind: 'fatal', mayHaveTakenEffect: false });
  });

  it('knows ErrorCode 1 "Name already exists" as a fatal result-error the caller can recognise', () => {
    const e = classifyOverallStatus('Create', {
      OverallStatus: 'Error',
      Results: [{ StatusCode: 'Error', StatusMessage: 'Name already exists', ErrorCode: '1' }],
    });
    expect(e && verdict(e)).toEqual({ code: 'result-error', kind: 'fatal', mayHaveTakenEffect: false });
    expect(e?.context.errorCode).toBe(1);
    expect(e?.message).toMatch(/Name already exists/);
  });

  it('passes OK and (for Retrieve) MoreDataAvailable', () => {
    expect(classifyOverallStatus('Create', { OverallStatus: 'OK' })).toBeUndefined();
    expect(classifyOverallStatus('Retrieve', { OverallStatus: 'MoreDataAvailable' })).toBeUndefined();
    expect(classifyOverallStatus('Create', { OverallStatus: 'MoreDataAvailable' })?.code).toBe('result-error');
  });
});
