import { mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RunError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { SftpUploader } from '../../src/upload/sftp.js';
import { sandboxSftpConfig } from './helpers.js';

const log = createLogger({ level: 'silent' });
const LIMITS = { dir: tmpdir(), maxBytes: 1024 ** 3, timeoutMs: 60_000 };


/** SftpUploader.list, what file-drop triggers see of an Enhanced FTP folder. */
describe('listing an SFTP folder', () => {
  let sb: Sandbox;
  afterEach(() => sb?.close());

  it('gives each plain file with its size and modification time, not folders', async () => {
    sb = await createSandbox({ schemaCheck: false });
    writeFileSync(join(sb.sftp.importDir, 'subscribers_1.csv'), 'ID,Email\n1,a@example.com\n');
    utimesSync(join(sb.sftp.importDir, 'subscribers_1.csv'), 1_796_000_000, 1_796_000_000);
    mkdirSync(join(sb.sftp.importDir, 'archive'));
    const files = await new SftpUploader(sandboxSftpConfig(sb, { maxConnections: 2 }), log, LIMITS).list('/Import');
    expect(files).toEqual([{ name: 'subscribers_1.csv', size: statSync(join(sb.sftp.importDir, 'subscribers_1.csv')).size, mtimeMs: 1_796_000_000_000 }]);
  });

  it('refuses a relative folder or one with .. before connecting', async () => {
    sb = await createSandbox({ schemaCheck: false });
    const uploader = new SftpUploader(sandboxSftpConfig(sb, { maxConnections: 1 }), log, LIMITS);
    await expect(uploader.list('Import')).rejects.toBeInstanceOf(RunError);
    await expect(uploader.list('/Import/../etc')).rejects.toThrow(/without \. or \.\. segments/);
    expect(sb.sftp.log()).toEqual([]);
  });
});
