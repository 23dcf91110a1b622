import { Queue } from 'bullmq';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SftpConfig } from '../src/config.js';
import { ListSendClient } from '../src/client.js';
import { sampleRow, writeSampleFile } from '../src/dev/sample-file.js';
import { createSandbox, type Sandbox } from '../src/sandbox/index.js';
import { ValidatingStream, type CsvRules } from '../src/upload/validate.js';
import {
  benchRequest,
  fixed,
  mb,
  sandboxSfmcConfig,
  seconds,
  until,
  withPrefix,
  workerRedis,
  type BenchContext,
  type ItemResult,
  type Table,
} from './common.js';
import { startChild } from './ipc.js';
import { profileCpu, summarise } from './profile.js';
import type { SftpChildOptions, Timed } from './sftp-child.js';
import type { WorkerChildOptions, WorkerChildStats } from './worker-child.js';

/**
 * Item 5: a generated CSV of 1 GiB through the pipeline's upload-file step (streamed through the
 * CSV pre-validation to a temporary name, size-checked, renamed) into the sandbox's SFTP server,
 * beside a raw ssh2 `fastPut` of the same file to the same server. Each client runs in a process
 * of its own, so its RSS is its own; the SFTP server is in this process and serves all alike.
 * Two probes split the difference: the step's transport alone (its write stream without the
 * validator, on the first part of the file), and the validator alone (no network).
 * The run then goes on to its Send, so the sandbox's import counts the uploaded rows.
 */

const REQUEST = benchRequest('upload', { initialDelayMs: 100, maxDelayMs: 1_000 });

export async function upload(ctx: BenchContext): Promise<ItemResult> {
  const targetBytes = ctx.quick ? 4 * 1024 ** 2 : 1024 ** 3;
  const dir = await mkdtemp(join(tmpdir(), 'sfmc-bench-upload-'));
  try {
    const localPath = join(dir, 'subscribers.csv');
    const rows = rowsFor(targetBytes);
    const t0 = Date.now();
    await writeSampleFile(localPath, { rows });
    const bytes = (await stat(localPath)).size;
    ctx.say(`  item 5: generated ${fixed(mb(bytes))} MB (${rows} rows) in ${seconds(Date.now() - t0)}`);
    return await withPrefix(ctx, 'upload', (prefix) => measure(ctx, prefix, localPath, bytes, rows));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Rows of the sample file (src/dev/sample-file.ts) that make about `bytes` (rows grow longer with their number). */
function rowsFor(bytes: number): number {
  let rows = 1_000_000;
  for (let round = 0; round < 3; round++) {
    let sum = 0;
    for (let j = 0; j < 1_000; j++) sum += sampleRow(Math.floor(((j + 0.5) / 1_000) * rows) + 1).length + 2;
    rows = Math.ceil(bytes / (sum / 1_000));
  }
  return rows;
}

/** HashSet64's table for the sample file's distinct emails (capped at the validator's default 5 M): slots double at 3/4 full. */
function hashTableBytes(rows: number): number {
  const distinct = Math.min(rows, 5_000_000);
  let slots = 1024;
  while (distinct * 4 > slots * 3) slots *= 2;
  return slots * 8;
}

/** The CSV pre-validation alone over the first `limitBytes`: no network, output discarded. */
async function validateOnly(localPath: string, limitBytes: number): Promise<Timed> {
  const rules: CsvRules = { fileType: 'CSV', headerLines: 1, fieldMaps: REQUEST.import.fieldMaps, allowErrors: false, allowEmpty: false };
  const rssBefore = process.memoryUsage.rss();
  const started = performance.now();
  await pipeline(
    createReadStream(localPath, { highWaterMark: 256 * 1024, end: limitBytes - 1 }),
    new ValidatingStream(rules),
    new Writable({ write: (_chunk, _enc, done) => done() }),
  );
  return { ms: performance.now() - started, bytes: limitBytes, rssBefore, peakRss: process.memoryUsage.rss() };
}

async function removeRemote(sandbox: Sandbox, name: string, bytes: number): Promise<void> {
  const path = join(sandbox.sftp.importDir, name);
  const size = (await stat(path)).size;
  await rm(path);
  if (size !== bytes) throw new Error(`${name} has ${size} bytes on the server, not ${bytes}`);
}

async function measure(ctx: BenchContext, prefix: string, localPath: string, bytes: number, rows: number): Promise<ItemResult> {
  const sandbox = await createSandbox({ import: { registerDelayMs: 0, durationMs: 0 } });
  const redis = workerRedis(ctx.redisUrl);
  // Imports end at once in this sandbox: a first poll at 100 ms keeps the item about the upload.
  const producer = new ListSendClient({ redisUrl: ctx.redisUrl, prefix, steps: { attempts: 5, backoffMs: 1_000 }, pollFloorMs: 100 });
  const uploadQueue = new Queue('upload-file', { connection: redis, prefix });
  const sendQueue = new Queue('send', { connection: redis, prefix });
  const sftp: SftpConfig = {
    host: sandbox.sftp.host,
    hostDerived: false,
    port: sandbox.sftp.port,
    username: sandbox.sftp.username,
    auth: { password: sandbox.credentials.password },
    hostFingerprint: sandbox.sftp.fingerprint,
    dir: '/Import',
    maxConnections: 2,
  };
  const compiled = !ctx.quick;
  const probeBytes = Math.min(bytes, 64 * 1024 ** 2);
  const validateBytes = Math.min(bytes, 64 * 1024 ** 2);
  try {
    const client = await startChild<{ pid: number }>(
      './sftp-child.ts',
      { host: sftp.host, port: sftp.port, username: sftp.username, password: sandbox.credentials.password, localPath } satisfies SftpChildOptions,
      { compiled },
    );
    let raw: Timed;
    let transport: Timed;
    let sliced: Timed;
    try {
      raw = await client.call<Timed>('fastPut', { remotePath: '/Import/raw-fastput.csv' });
      await removeRemote(sandbox, 'raw-fastput.csv', bytes);
      ctx.say(`  item 5: fastPut ${seconds(Math.round(raw.ms))}`);
      transport = await client.call<Timed>('stream', { remotePath: '/Import/transport.csv', limitBytes: probeBytes });
      await removeRemote(sandbox, 'transport.csv', probeBytes);
      sliced = await client.call<Timed>('stream', { remotePath: '/Import/sliced.csv', limitBytes: probeBytes, sliceBytes: 32 * 1024 });
      await removeRemote(sandbox, 'sliced.csv', probeBytes);
    } finally {
      await client.stop();
    }
    const validation = await validateOnly(localPath, validateBytes);
    const { profile } = await profileCpu(() => validateOnly(localPath, Math.min(bytes, 32 * 1024 ** 2)));
    const validatorProfile = summarise(profile, 8).functions;
    validatorProfile.caption = `Where the validator's time goes (CPU profile of the validator alone over the first ${fixed(mb(Math.min(bytes, 32 * 1024 ** 2)))} MB, self time)`;
    ctx.say(`  item 5: transport alone ${fixed(rate(transport))} MB/s, sliced ${fixed(rate(sliced))} MB/s, validation alone ${fixed(rate(validation))} MB/s`);

    // The pipeline: a worker process as `list-send worker` builds one, with the SFTP uploader.
    const worker = await startChild<{ pid: number }>(
      './worker-child.ts',
      { redisUrl: ctx.redisUrl, prefix, sfmc: sandboxSfmcConfig(sandbox), concurrency: 10, sftp } satisfies WorkerChildOptions,
      { compiled },
    );
    try {
      const idle = await worker.call<WorkerChildStats>('stats');
      await worker.call('resetPeak');
      const { fileSpec: _given, ...imp } = REQUEST.import;
      const { runId } = await producer.enqueue({ ...REQUEST, import: imp, file: { path: localPath } });
      await until(
        async () => {
          const c = await uploadQueue.getJobCounts('completed', 'failed');
          if (c.failed) throw new Error(`the upload-file step failed: ${(await producer.status(runId))?.error}`);
          return (c.completed ?? 0) > 0;
        },
        3_600_000,
        'the upload-file step',
        100,
      );
      const atUpload = await worker.call<WorkerChildStats>('stats');
      const stepMs = atUpload.steps['upload-file']?.totalMs ?? Number.NaN;
      const step: Timed = { ms: stepMs, bytes, rssBefore: idle.rss, peakRss: atUpload.peakRss };
      ctx.say(`  item 5: upload-file step ${seconds(Math.round(stepMs))}`);
      await until(async () => ((await sendQueue.getJobCounts('completed')).completed ?? 0) > 0, 1_800_000, 'the Send', 200);
      const imported = Object.values(sandbox.state.imports)[0];
      return report(ctx, {
        bytes,
        rows,
        probeBytes,
        validateBytes,
        raw,
        transport,
        sliced,
        validation,
        validatorProfile,
        step,
        atPeak: atUpload.atPeak,
        importedRows: imported?.totalRows,
      });
    } finally {
      await worker.stop();
    }
  } finally {
    await producer.close();
    await uploadQueue.close();
    await sendQueue.close();
    redis.disconnect();
    await sandbox.close();
  }
}

const rate = (t: Timed) => mb(t.bytes) / (t.ms / 1000);

interface Figures {
  bytes: number;
  rows: number;
  probeBytes: number;
  validateBytes: number;
  raw: Timed;
  transport: Timed;
  sliced: Timed;
  validation: Timed;
  validatorProfile: Table;
  step: Timed;
  atPeak: WorkerChildStats['atPeak'];
  importedRows: number | undefined;
}

function report(ctx: BenchContext, f: Figures): ItemResult {
  const ratio = f.step.ms / f.raw.ms;
  const peakMb = mb(f.step.peakRss);
  const table = hashTableBytes(f.rows);
  const row = (what: string, t: Timed, rss: string) => [what, fixed(mb(t.bytes)), seconds(Math.round(t.ms)), fixed(rate(t)), fixed(rate(f.raw) / rate(t), 1), rss];
  return {
    id: 5,
    title: 'Upload: 1 GB through the upload-file step beside a raw ssh2 fastPut',
    setup: [
      `A generated sample CSV (src/dev/sample-file.ts): ${fixed(mb(f.bytes))} MB, ${f.rows} data rows of realistic subscribers, on local disk (freshly written, so in the page cache).`,
      "Server: the sandbox's SFTP server (ssh2 server mode, in the bench process) on loopback, writing into its data folder; every client uses it the same way (one connection, password login).",
      "Raw: ssh2's `sftp.fastPut` (64 × 32 KiB requests in flight) in a child process, timed from the open SFTP session to the callback.",
      'Pipeline: a run with `file` in a worker child process (`startWorkers` with `SftpUploader`), timed by the step wrapper from start to end: connect, clear stale parts, stream through the CSV validator into `.<fileSpec>.part-1`, check its size, rename, check again. RSS sampled every 50 ms from just before the enqueue to the end of the step.',
      `Probes: the step's transport alone (ssh2-sftp-client \`createWriteStream\` with its 1 MiB highWaterMark, fed 256 KiB reads as src/upload/sftp.ts does, no validator) over the first ${fixed(mb(f.probeBytes))} MB, then the same with the reads cut into 32 KiB pieces. The validator alone (\`ValidatingStream\` into a discarding sink, no network, in the bench process) over the first ${fixed(mb(f.validateBytes))} MB.`,
      `Clients run ${ctx.quick ? 'through tsx (quick run: about 35 MB more RSS)' : 'as tsc output (bench/build.ts), as `list-send worker` runs dist/'}.`,
    ],
    tables: [
      {
        head: ['client', 'MB', 'time', 'MB/s', 'slower than fastPut', 'peak RSS (before)'],
        rows: [
          row('ssh2 fastPut (raw)', f.raw, `${fixed(mb(f.raw.peakRss))} MB (${fixed(mb(f.raw.rssBefore))} MB)`),
          row('upload-file step', f.step, `${fixed(peakMb)} MB (${fixed(mb(f.step.rssBefore))} MB); V8 heap ${fixed(mb(f.atPeak.heapUsed))} used of ${fixed(mb(f.atPeak.heapTotal))}, buffers ${fixed(mb(f.atPeak.arrayBuffers))}`),
          row('probe: the step\'s write stream alone', f.transport, ''),
          row('probe: the same, reads cut to 32 KiB', f.sliced, ''),
          row('probe: the CSV validator alone (no network)', f.validation, ''),
        ],
      },
      f.validatorProfile,
    ],
    targets: [
      {
        name: 'upload-file step ÷ raw fastPut (time)',
        target: 'report',
        value: fixed(ratio, 2),
        met: 'info',
        why: whyRatio(f),
      },
      {
        name: 'peak worker RSS during the upload',
        target: '< 150 MB',
        value: `${fixed(peakMb)} MB`,
        met: peakMb < 150,
        ...(peakMb < 150
          ? {}
          : {
              why:
                `the worker starts at ${fixed(mb(f.step.rssBefore))} MB (Node, BullMQ, the SOAP client) and the upload adds ${fixed(mb(f.step.peakRss - f.step.rssBefore))} MB. ` +
                `The duplicate check's table of email hashes (src/upload/hash-set.ts) for ${Math.min(f.rows, 5_000_000)} distinct emails is ${fixed(mb(table))} MB, and ${fixed(mb(table * 1.5))} MB while it last doubled. ` +
                `At the peak the V8 heap held ${fixed(mb(f.atPeak.heapTotal))} MB, ${fixed(mb(f.atPeak.heapUsed))} MB of it in use.`,
            }),
      },
    ],
    notes: [
      `The run went on to its Send: the sandbox's import counted ${f.importedRows ?? '?'} rows in the uploaded file (${f.importedRows === f.rows ? 'all of them' : `expected ${f.rows}`}).`,
      [
        '**Suggestions** for src/upload/ (production code is unchanged here):',
        `1. \`CsvValidator\` (src/upload/validate.ts) runs at ${fixed(rate(f.validation))} MB/s on its own here. Its \`on_record\` hook makes csv-parse build an info object for every record (\`__infoRecord\`, \`__infoDataSet\` in the profile above). Counting lines in the validator itself and reading records without \`on_record\` would remove that; so would validating on a worker thread beside the transfer.`,
        `2. \`SftpUploader.stream\` (src/upload/sftp.ts): ssh2-sftp-client's write stream gives ssh2 one chunk at a time, and \`sftp.write\` sends a chunk as 32 KiB requests one after another, each waiting for its answer. The write stream alone stays at ${fixed(rate(f.transport))} MB/s, with 256 KiB or 32 KiB chunks alike. fastPut keeps 64 requests in flight and reaches ${fixed(rate(f.raw))} MB/s over the same connection and server. A writer that keeps such a window of \`sftp.write\` calls open behind the validator, with the same backpressure, should come close to fastPut. The validator would then be the only limit.`,
        `3. \`CsvValidator\`'s duplicate check (\`HashSet64\`, limit 5,000,000): at the limit the table alone is ${fixed(mb(hashTableBytes(5_000_000)))} MB, ${fixed(mb(hashTableBytes(5_000_000) * 1.5))} MB while it doubles (this file: ${fixed(mb(table))} MB). A limit of 2 million distinct emails would keep it at 32 MB (48 MB during its last doubling). Sizing the table once from the file's size (÷ ~60 bytes per row) would avoid the doubling peak.`,
      ].join('\n'),
    ],
  };
}

/** Which half holds the step back, from the probes. */
function whyRatio(f: Figures): string {
  const transport = rate(f.transport);
  const validation = rate(f.validation);
  const slicing = rate(f.sliced) > transport * 1.3
    ? ` Cutting the reads to 32 KiB first raised the write stream to ${fixed(rate(f.sliced))} MB/s (Node hands buffered pieces to ssh2's \`_writev\`, which sends them together).`
    : ` Cutting the reads to 32 KiB did not help (${fixed(rate(f.sliced))} MB/s).`;
  return (
    `the step streams the file through the validator into the write stream, so it can go no faster than the slower of the two. Alone, the validator runs at ${fixed(validation)} MB/s and the write stream at ${fixed(transport)} MB/s, against fastPut's ${fixed(rate(f.raw))} MB/s.` +
    slicing +
    ` The ${validation < transport ? 'validator' : 'write stream'} is the bottleneck here.`
  );
}
