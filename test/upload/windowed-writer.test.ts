import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { WindowedSftpWriter } from '../../src/upload/window-writer.js';
import { connectSandboxSftp } from './helpers.js';

/** The upload's transport (issue #14) against the sandbox's SFTP server: a window of writes in flight, every byte in place. */

describe('writing a file with a window of SFTP requests in flight', () => {
  let sb: Sandbox;
  let conn: ssh2.Client;
  let sftp: ssh2.SFTPWrapper;

  beforeAll(async () => {
    sb = await createSandbox({ schemaCheck: false });
    ({ conn, sftp } = await connectSandboxSftp(sb));
  });
  afterAll(async () => {
    conn?.end();
    await sb?.close();
  });

  it('keeps 64 requests of 32 KiB in flight and writes every byte in order', async () => {
    const bytes = randomBytes(5 * 1024 * 1024 + 123);
    const chunks = Array.from({ length: Math.ceil(bytes.length / (256 * 1024)) }, (_, i) => bytes.subarray(i * 256 * 1024, (i + 1) * 256 * 1024));
    const writer = new WindowedSftpWriter(sftp, '/Import/windowed.bin');
    await pipeline(Readable.from(chunks), writer);
    expect(writer.peakInFlight).toBe(64);
    expect(writer.bytesSent).toBe(bytes.length);
    expect(readFileSync(join(sb.sftp.importDir, 'windowed.bin')).equals(bytes)).toBe(true);
  });

  it('holds no more than its window, whatever the window', async () => {
    const bytes = randomBytes(1024 * 1024);
    const writer = new WindowedSftpWriter(sftp, '/Import/small-window.bin', { window: 4, requestBytes: 8 * 1024 });
    await pipeline(Readable.from([bytes]), writer);
    expect(writer.peakInFlight).toBe(4);
    expect(readFileSync(join(sb.sftp.importDir, 'small-window.bin')).equals(bytes)).toBe(true);
  });

  it('fails the stream when the server refuses the file', async () => {
    const writer = new WindowedSftpWriter(sftp, '/no-such-folder/x.bin');
    await expect(pipeline(Readable.from([Buffer.from('a,b\n')]), writer)).rejects.toThrow();
  });
});
