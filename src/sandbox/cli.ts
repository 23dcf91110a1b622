import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { createSandbox } from './index.js';
import { DEFAULT_SEED } from './state.js';
import type { Sandbox, SeedData } from './types.js';

export interface RunSandboxOptions {
  port?: number;
  host?: string;
  /** SFTP port; default the HTTP port + 1 (ephemeral when the HTTP port is). */
  sftpPort?: number;
  /** Folder whose `Import/` holds the files imports count rows from (default: a fresh temporary folder). */
  dataDir?: string;
  /** JSON `{ lists: [{id, name}], emails: [{id, name, subject?}] }`, added to the default list and email. */
  seedFile?: string;
  registerDelayMs?: number;
  durationMs?: number;
  rows?: number;
  pageSize?: number;
  tokenTtlSeconds?: number;
  /** SandboxOptions.dateNormalization: false models an account with Incoming Date Normalization off. */
  dateNormalization?: boolean;
  /** SandboxOptions.listSendDelayMs: how long a Send's ListSend rows stay absent. */
  listSendDelayMs?: number;
  /** SandboxOptions.duplicateKeyErrorCode: the ErrorCode of a taken ImportDefinition CustomerKey. */
  duplicateKeyErrorCode?: 43030 | 1;
  schemaCheck?: boolean;
  wsdlPath?: string;
  /** Where the sandbox reports its own internal errors (they are answered as apifault code 2). */
  logger?: Logger;
  /** Where the banner goes; default stdout. */
  out?: (text: string) => void;
}

const named = z.object({ id: z.union([z.string().min(1), z.number().int()]), name: z.string().min(1) });
const seedEmail = named.extend({ subject: z.string().min(1).optional() });
const seedSchema = z.object({ lists: z.array(named).optional(), emails: z.array(seedEmail).optional() }).strict();

function readSeed(file: string): SeedData {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`seed file ${file}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = seedSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`seed file ${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** `list-send sandbox`: starts the sandbox and prints how to point the service at it. */
export async function runSandbox(opts: RunSandboxOptions = {}): Promise<Sandbox> {
  const extra = opts.seedFile ? readSeed(opts.seedFile) : {};
  const sandbox = await createSandbox({
    port: opts.port ?? 0,
    host: opts.host,
    dataDir: opts.dataDir ? resolve(opts.dataDir) : undefined,
    sftpPort: opts.sftpPort ?? (opts.port ? opts.port + 1 : 0),
    seed: {
      lists: [...DEFAULT_SEED.lists, ...(extra.lists ?? [])],
      emails: [...DEFAULT_SEED.emails, ...(extra.emails ?? [])],
    },
    import: { registerDelayMs: opts.registerDelayMs, durationMs: opts.durationMs, rows: opts.rows },
    pageSize: opts.pageSize,
    tokenTtlSeconds: opts.tokenTtlSeconds,
    dateNormalization: opts.dateNormalization,
    listSendDelayMs: opts.listSendDelayMs,
    duplicateKeyErrorCode: opts.duplicateKeyErrorCode,
    schemaCheck: opts.schemaCheck,
    wsdlPath: opts.wsdlPath,
    logger: opts.logger,
  });
  const c = sandbox.credentials;
  const state = sandbox.state;
  const lines = [
    `SFMC sandbox listening on ${sandbox.url}`,
    `  SOAP endpoint:  ${sandbox.soapUrl}`,
    `  token endpoint: ${sandbox.tokenUrl}`,
    `  inspect:        ${sandbox.url}/__sandbox/state   ${sandbox.url}/__sandbox/calls`,
    `  lists:  ${state.lists.map((l) => `${l.id} "${l.name}"`).join(', ')}`,
    `  emails: ${state.emails.map((e) => `${e.id} "${e.name}"`).join(', ')}`,
    `  SFTP:           ${sandbox.sftp.host}:${sandbox.sftp.port}, host key ${sandbox.sftp.fingerprint}`,
    `  import files are read from ${sandbox.sftp.importDir} (SFTP /Import)`,
    '',
    'These are sandbox-only credentials. Point the service at it with (OAuth2):',
    `  SFMC_AUTH_URL=${sandbox.url}`,
    `  SFMC_CLIENT_ID=${c.clientId}`,
    `  SFMC_CLIENT_SECRET=${c.clientSecret}`,
    `  SFMC_ACCOUNT_ID=${c.accountId}`,
    'or (WS-Security UsernameToken):',
    `  SFMC_SOAP_URL=${sandbox.soapUrl}`,
    `  SFMC_USERNAME=${c.username}`,
    `  SFMC_PASSWORD=${c.password}`,
    'and, for runs that upload their file (SFTP):',
    `  SFMC_SFTP_HOST=${sandbox.sftp.host}`,
    `  SFMC_SFTP_PORT=${sandbox.sftp.port}`,
    `  SFMC_SFTP_USERNAME=${c.username}`,
    `  SFMC_SFTP_PASSWORD=${c.password}`,
    `  SFMC_SFTP_HOST_FINGERPRINT=${sandbox.sftp.fingerprint}`,
    '',
  ];
  const out = opts.out ?? ((text: string) => process.stdout.write(text));
  out(`${lines.join('\n')}\n`);
  return sandbox;
}
