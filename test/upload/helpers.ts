import ssh2 from 'ssh2';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { stepJobId, type QueueName } from '../../queues/catalog.js';
import type { ListSendClient, StepStatus } from '../../src/client.js';
import { SAMPLE_FIELD_MAPS } from '../../src/dev/sample-file.js';
import type { ListSendRequestInput } from '../../src/request.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import type { SftpConfig } from '../../src/config.js';
import { seedRequest } from '../helpers/requests.js';
import { testRedisUrl } from '../helpers/redis.js';

/** A temporary folder for source files, removed by the returned function. */
export function tempFolder(label: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `upload-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The seed request with a file to upload and no fileSpec (so it is derived from the runId). */
export function fileRequest(runId: string, path: string, importOverrides: Record<string, unknown> = {}): ListSendRequestInput {
  const seed = seedRequest({ runId });
  const { fileSpec: _none, ...imp } = seed.import;
  return { ...seed, file: { path }, import: { ...imp, fieldMaps: SAMPLE_FIELD_MAPS, ...importOverrides } };
}

/** SOAP calls that change something in SFMC: every Create and Perform. */
export function changingCalls(sandbox: Sandbox) {
  return sandbox.calls().filter((c) => c.operation === 'Create' || c.operation === 'Perform');
}

export function importFiles(sandbox: Sandbox): string[] {
  return readdirSync(sandbox.sftp.importDir).sort();
}

/**
 * Waits until a step reaches a state. A failed child fails its parents one after another (BullMQ
 * hands each a deferred failure without running it), so the whole chain settles a little later.
 */
export async function waitForStep(
  producer: ListSendClient,
  runId: string,
  step: QueueName,
  state: StepStatus['state'],
  timeoutMs = 5_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const status = await producer.status(runId);
    if (status?.steps.find((s) => s.step === step)?.state === state) return;
    if (Date.now() > until) throw new Error(`${step} of ${runId} did not become ${state}: ${JSON.stringify(status?.steps)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The job log lines (Bull Board's "Logs" tab) of one step of a run. */
export async function jobLogs(prefix: string, runId: string, step: QueueName): Promise<string[]> {
  const queue = new Queue(step, { connection: { url: testRedisUrl() }, prefix });
  try {
    return (await queue.getJobLogs(stepJobId(runId, step))).logs;
  } finally {
    await queue.close();
  }
}

/** The sandbox's SFTP server as an SftpConfig, host key pinned; overrides change one setting. */
export function sandboxSftpConfig(sb: Sandbox, overrides: Partial<SftpConfig> = {}): SftpConfig {
  return {
    host: sb.sftp.host,
    port: sb.sftp.port,
    hostDerived: false,
    username: sb.credentials.username,
    auth: { password: sb.credentials.password },
    hostFingerprint: sb.sftp.fingerprint,
    dir: '/Import',
    maxConnections: 3,
    ...overrides,
  };
}

/** A raw ssh2 SFTP session on the sandbox's server (password login), for tests of the transport alone. */
export async function connectSandboxSftp(sb: Sandbox): Promise<{ conn: ssh2.Client; sftp: ssh2.SFTPWrapper }> {
  const conn = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    conn.once('ready', resolve).once('error', reject);
    conn.connect({ host: sb.sftp.host, port: sb.sftp.port, username: sb.credentials.username, password: sb.credentials.password });
  });
  const sftp = await new Promise<ssh2.SFTPWrapper>((resolve, reject) => conn.sftp((err, s) => (err ? reject(err) : resolve(s))));
  return { conn, sftp };
}
