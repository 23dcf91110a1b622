import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { pumpFile } from '../../src/upload/file-pump.js';
import { WindowedSftpWriter } from '../../src/upload/window-writer.js';
import { connectSandboxSftp } from './helpers.js';

/** The upload's read side (issue #14): two reused buffers into the windowed writer, against the sandbox's SFTP server. */

describe('pumping a file through two reused buffers into the windowed writer', () => {
  let sb: Sandbox;
  let conn: ssh2.Client;
  let sftp: ssh2.SFTPWrapper;
  const dir = mkdtempSync(join(tmpdir(), 'file-pump-'));

  beforeAll(async () => {
    sb = await createSandbox({ schemaCheck: false });
    ({ conn, sftp } = await connectSandboxSftp(sb));
  });
  afterAll(async () => {
    conn?.end();
    await sb?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends every byte in order though each buffer is read into again as soon as the writer took it', async () => {
    const bytes = randomBytes(6 * 1024 * 1024 + 321);
    const path = join(dir, 'random.bin');
    writeFileSync(path, bytes);
    const handle = await open(path, 'r');
    const chunks: number[] = [];
    try {
      // Chunks of 100,000 bytes: not a multiple of a request, so requests straddle the chunks.
      const moved = await pumpFile(handle, bytes.length, new WindowedSftpWriter(sftp, '/Import/pumped.bin'), { chunkBytes: 100_000, check: (c) => chunks.push(c.length) });
      expect(moved).toBe(bytes.length);
    } finally {
      await handle.close();
    }
    expect(chunks.length).toBe(Math.ceil(bytes.length / 100_000));
    expect(readFileSync(join(sb.sftp.importDir, 'pumped.bin')).equals(bytes)).toBe(true);
  });

  it('sends nothing of the chunk the check refuses, and nothing after it', async () => {
    const bytes = randomBytes(1024 * 1024);
    const path = join(dir, 'refused.bin');
    writeFileSync(path, bytes);
    const handle = await open(path, 'r');
    const writer = new WindowedSftpWriter(sftp, '/Import/refused.bin');
    let seen = 0;
    try {
      const refusal = new Error('bad chunk');
      const pumped = pumpFile(handle, bytes.length, writer, {
        chunkBytes: 256 * 1024,
        check: () => {
          seen += 1;
          if (seen === 3) throw refusal;
        },
      });
      await expect(pumped).rejects.toBe(refusal);
    } finally {
      writer.destroy();
      await handle.close();
    }
    expect(writer.bytesSent).toBe(2 * 256 * 1024);
  });
});
