import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSandbox } from '../../src/sandbox/index.js';
import { wsdlState } from '../../src/sandbox/schema/index.js';
import { isCi, wsdlTestsRun } from '../helpers/xsd.js';

const dir = mkdtempSync(join(tmpdir(), 'wsdl-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('finding the partner WSDL', () => {
  it('is readable when the file is there', () => {
    const file = join(dir, 'present.wsdl');
    writeFileSync(file, '<definitions/>');
    expect(wsdlState(file, dir)).toEqual({ state: 'readable', path: file });
  });

  it('is absent only when the shared folder itself is missing (a clone without ../shared)', () => {
    const shared = join(dir, 'no-shared');
    expect(wsdlState(join(shared, 'sfmc', 'partnerAPI.wsdl'), shared).state).toBe('absent');
  });

  it('is unreadable when the shared folder is there but the file is not', () => {
    const shared = join(dir, 'shared-without-wsdl');
    mkdirSync(shared);
    expect(wsdlState(join(shared, 'sfmc', 'partnerAPI.wsdl'), shared)).toMatchObject({ state: 'unreadable', reason: 'ENOENT' });
  });

  it('is unreadable when a named file is missing or is a folder', () => {
    expect(wsdlState(join(dir, 'named.wsdl'))).toMatchObject({ state: 'unreadable', reason: 'ENOENT' });
    expect(wsdlState(dir)).toMatchObject({ state: 'unreadable', reason: 'not a file' });
  });
});

describe('whether the schema tests run', () => {
  it('run with a readable WSDL, in CI or not', () => {
    expect(wsdlTestsRun({ state: 'readable', path: '/w' }, true)).toBe(true);
    expect(wsdlTestsRun({ state: 'readable', path: '/w' }, false)).toBe(true);
  });

  it('skip without ../shared outside CI, and fail in CI with a message saying why', () => {
    expect(wsdlTestsRun({ state: 'absent', path: '/w' }, false)).toBe(false);
    expect(() => wsdlTestsRun({ state: 'absent', path: '/w' }, true)).toThrow(/CI is set but there is no SFMC partner WSDL at \/w/);
  });

  it('fail, never skip, when the WSDL is there but cannot be read', () => {
    expect(() => wsdlTestsRun({ state: 'unreadable', path: '/w', reason: 'EACCES' }, false)).toThrow(/WSDL at \/w cannot be read \(EACCES\)/);
  });

  it('reads CI=true as CI and CI=false as not', () => {
    expect([isCi('true'), isCi('1'), isCi('false'), isCi('0'), isCi(''), isCi(undefined)]).toEqual([true, true, false, false, false, false]);
  });
});

describe('the sandbox and an unreadable WSDL', () => {
  it('refuses to start unchecked when the named WSDL cannot be read', async () => {
    await expect(createSandbox({ wsdlPath: join(dir, 'missing.wsdl') })).rejects.toThrow(/partner WSDL at .*missing\.wsdl cannot be read \(ENOENT\)/);
  });

  it('still starts with schemaCheck: false', async () => {
    const sb = await createSandbox({ wsdlPath: join(dir, 'missing.wsdl'), schemaCheck: false });
    await sb.close();
  });
});
