import { createReadStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import ssh2 from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import { pumpFile } from '../src/upload/file-pump.js';
import { WindowedSftpWriter } from '../src/upload/window-writer.js';
import { childOptions, serveParent } from './ipc.js';

/**
 * Item 5's reference clients, in a process of their own: ssh2's `fastPut` (the floor), the
 * upload step's transport alone (src/upload/window-writer.ts fed by src/upload/file-pump.ts, as
 * src/upload/sftp.ts feeds it, without the CSV validator), and the write stream it replaced
 * (ssh2-sftp-client's `createWriteStream`), optionally with the reads cut into `sliceBytes` pieces.
 */

export interface SftpChildOptions {
  host: string;
  port: number;
  username: string;
  password: string;
  localPath: string;
}

export interface Timed {
  ms: number;
  bytes: number;
  rssBefore: number;
  peakRss: number;
}

const o = childOptions<SftpChildOptions>();
let peakRss = 0;
const sample = () => (peakRss = Math.max(peakRss, process.memoryUsage.rss()));
setInterval(sample, 50).unref();

async function timed(fn: () => Promise<number>): Promise<Timed> {
  const rssBefore = process.memoryUsage.rss();
  peakRss = rssBefore;
  const started = performance.now();
  const bytes = await fn();
  const ms = performance.now() - started;
  sample();
  return { ms, bytes, rssBefore, peakRss };
}

/** Resolves with the time from the open SFTP session to fastPut's callback. */
function fastPut(remotePath: string): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const conn = new ssh2.Client();
    conn.on('error', reject);
    conn.on('ready', () => {
      conn.sftp((err, sftp) => {
        if (err) return reject(err);
        // ssh2's defaults: 64 requests of 32 KiB in flight.
        timed(() => new Promise<number>((done, fail) => sftp.fastPut(o.localPath, remotePath, (e) => (e ? fail(e) : done(statSync(o.localPath).size))))).then(
          (t) => {
            conn.end();
            resolve(t);
          },
          (e: unknown) => {
            conn.end();
            reject(e instanceof Error ? e : new Error(String(e)));
          },
        );
      });
    });
    conn.connect({ host: o.host, port: o.port, username: o.username, password: o.password, readyTimeout: 20_000 });
  });
}

class Slicer extends Transform {
  constructor(private readonly size: number) {
    super({ highWaterMark: 256 * 1024 });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    for (let i = 0; i < chunk.length; i += this.size) this.push(chunk.subarray(i, i + this.size));
    callback();
  }
}

/** The first `limitBytes` of the file through the upload step's writer, or the write stream it replaced. */
async function streamed(remotePath: string, limitBytes: number, sliceBytes: number | undefined, writer: 'windowed' | 'write-stream'): Promise<Timed> {
  const client = new SftpClient('bench');
  await client.connect({ host: o.host, port: o.port, username: o.username, password: o.password, readyTimeout: 20_000 });
  try {
    const sftp = (client as unknown as { sftp: ssh2.SFTPWrapper }).sftp;
    if (writer === 'windowed' && !sliceBytes) {
      return await timed(async () => {
        const handle = await open(o.localPath, 'r');
        try {
          return await pumpFile(handle, limitBytes, new WindowedSftpWriter(sftp, remotePath));
        } finally {
          await handle.close();
        }
      }).then(async (t) => {
        // A speed is only worth reporting if every byte arrived: the server's size must match.
        const stats = await new Promise<ssh2.Stats>((resolve, reject) => sftp.stat(remotePath, (err, s) => (err ? reject(err) : resolve(s))));
        if (stats.size !== limitBytes) throw new Error(`the windowed writer left ${stats.size} bytes on the server, not ${limitBytes}`);
        return t;
      });
    }
    return await timed(async () => {
      const source = createReadStream(o.localPath, { highWaterMark: 256 * 1024, end: limitBytes - 1 });
      const remote = writer === 'windowed' ? new WindowedSftpWriter(sftp, remotePath) : client.createWriteStream(remotePath, { flags: 'w', highWaterMark: 1024 * 1024 });
      const closed = new Promise<void>((resolve, reject) => {
        remote.once('close', () => resolve());
        remote.once('error', reject);
      });
      await Promise.all([sliceBytes ? pipeline(source, new Slicer(sliceBytes), remote) : pipeline(source, remote), closed]);
      return limitBytes;
    });
  } finally {
    await client.end();
  }
}

serveParent(
  { pid: process.pid },
  {
    fastPut: (p) => fastPut((p as { remotePath: string }).remotePath),
    stream: (p) => {
      const { remotePath, limitBytes, sliceBytes, writer } = p as { remotePath: string; limitBytes: number; sliceBytes?: number; writer?: 'windowed' | 'write-stream' };
      return streamed(remotePath, limitBytes, sliceBytes, writer ?? 'windowed');
    },
    close: () => undefined,
  },
);
