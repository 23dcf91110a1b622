import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { partnerSchemaFromFile, wsdlStateAt } from './schema/index.js';
import { TokenIssuer } from './auth.js';
import { CallLog } from './calls.js';
import { FaultInjector } from './faults.js';
import type { Runtime } from './runtime.js';
import { requestHandler } from './server.js';
import { startSftpServer } from './sftp.js';
import { DEFAULT_IMPORT_TIMING, DEFAULT_SEED, SandboxStore } from './state.js';
import type { Sandbox, SandboxCredentials, SandboxOptions } from './types.js';

export type * from './types.js';

export const DEFAULT_CREDENTIALS: SandboxCredentials = {
  clientId: 'sandbox',
  clientSecret: 'sandbox-secret',
  accountId: '100000',
  username: 'sandbox',
  password: 'sandbox-password',
};

/** Options left undefined keep their defaults instead of overwriting them with undefined. */
function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Starts a stateful stand-in for one SFMC account on 127.0.0.1:
 *   POST /v2/token                 OAuth2 client credentials (JSON), SFMC's response and 401 shapes
 *   POST /Service.asmx             SOAP 1.1 Create / Retrieve / Perform / Delete for the list-send workflow
 *   GET  /__sandbox/state | calls  inspection (JSON, no secrets)
 *   POST|DELETE /__sandbox/faults[/:id], POST /__sandbox/import-behaviour | lists | emails | reset
 * What real SFMC does that the sandbox could not confirm is marked UNVERIFIED where it is decided.
 */
export async function createSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const credentials: SandboxCredentials = { ...DEFAULT_CREDENTIALS, ...options.credentials };
  const now = options.now ?? Date.now;
  const store = new SandboxStore(
    { lists: options.seed?.lists ?? DEFAULT_SEED.lists, emails: options.seed?.emails ?? DEFAULT_SEED.emails },
    { ...DEFAULT_IMPORT_TIMING, ...definedOnly(options.import ?? {}) },
    options.send,
  );
  // Without a WSDL (a clone with no ../shared beside it) the sandbox still runs, unchecked, and
  // says so; asking for schemaCheck explicitly makes a missing WSDL an error instead. A WSDL that
  // was named, or a ../shared that is there, but cannot be read is an error too: silently running
  // unchecked would hide exactly the schema mistakes the sandbox is there to catch.
  const wsdl = wsdlStateAt(options.wsdlPath);
  if (options.schemaCheck === undefined && wsdl.state === 'unreadable') {
    throw new Error(`sandbox: the partner WSDL at ${wsdl.path} cannot be read (${wsdl.reason}); fix it, set SFMC_WSDL_PATH, or pass schemaCheck: false.`);
  }
  const schemaCheck = options.schemaCheck ?? wsdl.state === 'readable';
  if (!schemaCheck && options.schemaCheck === undefined) {
    const warning =
      `sandbox: no partner WSDL at ${wsdl.path}, so request bodies are NOT checked against the schema. ` +
      'Get it from https://{subdomain}.soap.marketingcloudapis.com/etframework.wsdl and set SFMC_WSDL_PATH.';
    if (options.logger) options.logger.warn(warning);
    else console.warn(warning);
  }
  // Compiled before listening, so the first request is not the slow one.
  const schema = schemaCheck ? partnerSchemaFromFile(options.wsdlPath) : undefined;

  const server = createServer({ keepAliveTimeout: 5_000 });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  // The SFTP server stores into dataDir/Import, where imports read their files.
  const faults = new FaultInjector();
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'sfmc-sandbox-'));
  let sftp: Awaited<ReturnType<typeof startSftpServer>>;
  try {
    sftp = await startSftpServer({
      host,
      port: options.sftpPort ?? 0,
      root: dataDir,
      username: credentials.username,
      password: credentials.password,
      ...(options.sftpAuthorizedKeys ? { authorizedKeys: options.sftpAuthorizedKeys } : {}),
      faults,
      now,
      ...(options.logger ? { logger: options.logger } : {}),
    });
  } catch (err) {
    server.close();
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }

  const rt: Runtime = {
    now,
    store,
    issuer: new TokenIssuer(credentials, options.tokenTtlSeconds ?? 1079, now, url, options.soapInstanceUrl),
    faults,
    calls: new CallLog(now, options.logger),
    credentials,
    pageSize: options.pageSize ?? 2500,
    dataDir,
    dateNormalization: options.dateNormalization ?? true,
    listSendDelayMs: options.listSendDelayMs ?? 0,
    duplicateKeyErrorCode: options.duplicateKeyErrorCode ?? 43030,
    validateBody: schema ? (xml) => schema.validateElement(xml).errors[0] : undefined,
    soapUrl: `${url}/Service.asmx`,
    logger: options.logger,
    timers: new Set(),
  };

  const api: Pick<Sandbox, 'reset' | 'setImportBehaviour' | 'setSendBehaviour' | 'addList' | 'addEmail'> = {
    reset: () => {
      store.reset();
      rt.faults.clear();
      rt.calls.clear();
      sftp.clearLog();
      rt.issuer.sweep();
    },
    setImportBehaviour: (b) => store.setImportBehaviour(b),
    setSendBehaviour: (b) => store.setSendBehaviour(b),
    addList: (l) => store.addList(l),
    addEmail: (e) => store.addEmail(e),
  };
  server.on('request', requestHandler(rt, api));

  let closed: Promise<void> | undefined;
  return {
    url,
    soapUrl: rt.soapUrl,
    tokenUrl: `${url}/v2/token`,
    port,
    sftp: {
      host: sftp.host,
      port: sftp.port,
      fingerprint: sftp.fingerprint,
      username: sftp.username,
      dataDir: sftp.dataDir,
      importDir: sftp.importDir,
      log: sftp.log,
      authAttempts: sftp.authAttempts,
    },
    dataDir,
    credentials: { ...credentials },
    get state() {
      return store.snapshot();
    },
    calls: () => rt.calls.list(),
    faults: rt.faults,
    ...api,
    close: () => {
      closed ??= new Promise<void>((resolve, reject) => {
        for (const t of rt.timers) clearTimeout(t);
        rt.timers.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }).then(async () => {
        await sftp.close();
        if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
      });
      return closed;
    },
  };
}
