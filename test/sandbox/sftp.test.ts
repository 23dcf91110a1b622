import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { hostKeyFingerprint } from '../../src/upload/fingerprint.js';
import {
  bodyOf,
  createImportDefinitionBody,
  envelope,
  importResultsBody,
  login,
  performStartBody,
  resultsOf,
  soap,
  startSandbox,
  testClock,
  type TestClock,
} from './helpers.js';

const quiet = { error: () => undefined, end: () => undefined, close: () => undefined };

describe('the sandbox SFTP server', () => {
  let sb: Sandbox;
  let clock: TestClock;
  let client: SftpClient | undefined;
  beforeEach(async () => {
    clock = testClock();
    sb = await startSandbox({ now: clock.now, import: { registerDelayMs: 0, durationMs: 10 } });
  });
  afterEach(async () => {
    await client?.end().catch(() => undefined);
    client = undefined;
    await sb.close();
  });

  async function connect(password = sb.credentials.password): Promise<{ client: SftpClient; hostKey: Buffer | undefined }> {
    let hostKey: Buffer | undefined;
    client = new SftpClient('test', quiet);
    await client.connect({
      host: sb.sftp.host,
      port: sb.sftp.port,
      username: sb.credentials.username,
      password,
      hostVerifier: (key: Buffer) => {
        hostKey = key;
        return true;
      },
    });
    return { client, hostKey };
  }

  it('reports the SHA256 fingerprint of the host key clients see', async () => {
    const { hostKey } = await connect();
    expect(sb.sftp.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(hostKeyFingerprint(hostKey as Buffer)).toBe(sb.sftp.fingerprint);
  });

  it('stores what is put into /Import in the data folder, and lists, stats, renames and deletes it', async () => {
    const { client: c } = await connect();
    await c.put(Buffer.from('Email Address\na@example.com\n'), '/Import/a.csv');
    expect(readFileSync(join(sb.sftp.importDir, 'a.csv'), 'utf8')).toBe('Email Address\na@example.com\n');
    expect((await c.stat('/Import/a.csv')).size).toBe(28);
    expect((await c.list('/Import')).map((f) => [f.type, f.name])).toEqual([['-', 'a.csv']]);
    await c.rename('/Import/a.csv', '/Import/b.csv');
    expect(await c.exists('/Import/a.csv')).toBe(false);
    expect(await c.realPath('/Import/../Import/./b.csv')).toBe('/Import/b.csv');
    await c.delete('/Import/b.csv');
    expect(await c.list('/Import')).toEqual([]);
  });

  it('refuses to rename onto an existing file, as OpenSSH does', async () => {
    const { client: c } = await connect();
    await c.put(Buffer.from('1'), '/Import/a.csv');
    await c.put(Buffer.from('2'), '/Import/b.csv');
    await expect(c.rename('/Import/a.csv', '/Import/b.csv')).rejects.toThrow(/File exists/);
  });

  it('keeps clients inside the data folder, as a chroot does', async () => {
    const { client: c } = await connect();
    await c.put(Buffer.from('x'), '/../../escape.csv');
    expect(readFileSync(join(sb.sftp.dataDir, 'escape.csv'), 'utf8')).toBe('x');
    expect(await c.realPath('/../..')).toBe('/');
  });

  it('counts every password login attempt, and refuses a wrong one', async () => {
    await expect(connect('wrong')).rejects.toThrow(/authentication methods failed/);
    await connect();
    expect(sb.sftp.authAttempts().map((a) => [a.username, a.method, a.ok])).toEqual([
      ['sandbox', 'password', false],
      ['sandbox', 'password', true],
    ]);
    sb.reset();
    expect(sb.sftp.log()).toEqual([]);
  });

  it('cuts the connection after the given bytes of a write when an sftp fault fires', async () => {
    sb.faults.inject({ operation: 'sftp', kind: 'reset', afterBytes: 100_000 });
    const { client: c } = await connect();
    await expect(c.put(Buffer.alloc(500_000, 97), '/Import/cut.csv')).rejects.toThrow();
    expect(sb.sftp.log().find((e) => e.op === 'cut')).toMatchObject({ path: '/Import/cut.csv', detail: 'connection cut after 100000 bytes' });
    expect(readFileSync(join(sb.sftp.importDir, 'cut.csv')).length).toBe(100_000);
  });

  it('holds the writes of a file until its hold rule is removed, then stores them in order', async () => {
    const hold = sb.faults.inject({ operation: 'sftp', kind: 'hold' });
    const { client: c } = await connect();
    let done = false;
    const put = c.put(Buffer.alloc(300_000, 98), '/Import/held.csv').then(() => (done = true));
    // The open is answered (and logged); no write is, so the put cannot have finished.
    while (!sb.sftp.log().some((e) => e.op === 'open' && e.path === '/Import/held.csv')) await new Promise((r) => setImmediate(r));
    expect(sb.sftp.log().find((e) => e.path === '/Import/held.csv')?.detail).toBe('write, held');
    expect(done).toBe(false);
    sb.faults.remove(hold);
    await put;
    expect(readFileSync(join(sb.sftp.importDir, 'held.csv'))).toEqual(Buffer.alloc(300_000, 98));
  });

  it('accepts sftp fault rules only as resets and holds, afterBytes only on resets, holds only on sftp', () => {
    expect(() => sb.faults.inject({ operation: 'sftp', kind: 'throttle' })).toThrow(/sftp rules support only kinds reset \(with afterBytes\) and hold/);
    expect(() => sb.faults.inject({ operation: 'Create', kind: 'reset', afterBytes: 5 })).toThrow(/afterBytes is for sftp reset rules/);
    expect(() => sb.faults.inject({ operation: 'sftp', kind: 'hold', afterBytes: 5 })).toThrow(/afterBytes is for sftp reset rules/);
    expect(() => sb.faults.inject({ operation: 'Create', kind: 'hold' })).toThrow(/hold is for sftp rules/);
  });

  it('imports count the rows of the uploaded file: bad emails are errors, repeated ones duplicates', async () => {
    writeFileSync(
      join(sb.sftp.importDir, 'rows.csv'),
      'Email Address,Name\na@example.com,A\nnot-an-email,B\n"b@example.com",C\nA@Example.com,D\n\n,E\nc@example.com,F\n',
    );
    const auth = await login(sb);
    await soap(sb, 'Create', envelope(createImportDefinitionBody('ROWS', '123', 'rows.csv'), auth));
    const performed = await soap(sb, 'Perform', envelope(performStartBody('ROWS'), auth));
    const taskId = /<ID>(\d+)<\/ID>/.exec(performed.text)?.[1] ?? '';
    clock.advance(10);
    const [summary] = resultsOf(bodyOf(await soap(sb, 'Retrieve', envelope(importResultsBody(taskId), auth)), 'RetrieveResponseMsg'));
    expect(summary).toMatchObject({ TotalRows: '6', NumberErrors: '2', NumberDuplicated: '1', NumberSuccessful: '3' });
  });
});
