import { describe, expect, it } from 'vitest';
import { parseDuration, parseScheduleInput, parseTriggerInput } from '../../src/automation/definitions.js';
import { fileRunId, firingRunId, globMatches } from '../../src/automation/run-ids.js';
import { runIdSchema } from '../../src/request.js';
import { seedRequest } from '../helpers/requests.js';

describe('naming the run of a firing or a file', () => {
  it('a firing is NAME-<scheduled time to the second>, a valid runId even for the longest name', () => {
    expect(firingRunId('daily', Date.UTC(2026, 11, 1, 9, 0, 0, 0))).toBe('daily-20261201T090000Z');
    expect(firingRunId('daily', Date.UTC(2026, 11, 1, 9, 0, 2, 999))).toBe('daily-20261201T090002Z');
    expect(runIdSchema.safeParse(firingRunId('n'.repeat(48), Date.now())).success).toBe(true);
  });

  it('a file is NAME-<hash of name, size, mtime>: the same file the same id, any change a new one', () => {
    const file = { name: 'subscribers_1.csv', size: 120, mtimeMs: 1_796_000_000_000 };
    expect(fileRunId('drop', file)).toBe(fileRunId('drop', { ...file }));
    expect(fileRunId('drop', file)).toMatch(/^drop-[0-9a-f]{16}$/);
    expect(fileRunId('drop', { ...file, size: 121 })).not.toBe(fileRunId('drop', file));
    expect(fileRunId('drop', { ...file, mtimeMs: file.mtimeMs + 1_000 })).not.toBe(fileRunId('drop', file));
    expect(fileRunId('drop', { ...file, name: 'subscribers_2.csv' })).not.toBe(fileRunId('drop', file));
    expect(runIdSchema.safeParse(fileRunId('n'.repeat(48), file)).success).toBe(true);
  });

  it('matches file names with * and ?, everything else literal', () => {
    expect(globMatches('subscribers_*.csv', 'subscribers_2026-12-01.csv')).toBe(true);
    expect(globMatches('subscribers_*.csv', 'subscribers_1.csv.part')).toBe(false);
    expect(globMatches('subscribers_*.csv', 'subscribersX1Xcsv')).toBe(false);
    expect(globMatches('list?.csv', 'list1.csv')).toBe(true);
    expect(globMatches('list?.csv', 'list12.csv')).toBe(false);
    expect(globMatches('a+(b).csv', 'a+(b).csv')).toBe(true);
  });
});

describe('schedule and trigger definitions', () => {
  const { runId: _r, ...request } = seedRequest();

  it('reads durations as the CLI writes them', () => {
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1500ms')).toBe(1_500);
    expect(parseDuration('2000')).toBe(2_000);
    expect(parseDuration('soon')).toBeUndefined();
  });

  it('accepts five- and six-field cron, with a time zone', () => {
    expect(parseScheduleInput({ name: 'a', cron: '0 9 * * MON', tz: 'Europe/Paris', request })).toMatchObject({ overlap: 'skip' });
    expect(parseScheduleInput({ name: 'a', cron: '*/2 * * * * *', request }).cron).toBe('*/2 * * * * *');
  });

  it('refuses what cannot be scheduled, naming the field', () => {
    const problems = (input: unknown) => {
      try {
        parseScheduleInput(input);
        return [];
      } catch (err) {
        return (err as { problems: { path: string }[] }).problems.map((p) => p.path);
      }
    };
    expect(problems({ name: 'a', request })).toEqual(['cron']);
    expect(problems({ name: 'a', cron: '* * * * *', every: '1m', request })).toEqual(['cron']);
    expect(problems({ name: 'a', every: '1500ms', request })).toEqual(['every']);
    expect(problems({ name: 'a', every: '10m', tz: 'Europe/Paris', request })).toEqual(['tz']);
    expect(problems({ name: 'a b', every: '10m', request })).toEqual(['name']);
    expect(problems({ name: 'a', every: '10m', overlap: 'queue', request })).toEqual(['overlap']);
  });

  it('a trigger stores its folder and timing, and a request without file or fileSpec', () => {
    const { fileSpec: _f, ...imp } = request.import;
    const t = parseTriggerInput({ name: 'drop', localDir: '/data/in', request: { ...request, import: imp } });
    expect(t).toMatchObject({ localDir: '/data/in', pattern: '*', settle: 30_000, interval: 60_000 });
    expect(() => parseTriggerInput({ name: 'drop', sftpDir: 'Import', request: { ...request, import: imp } })).toThrow(/sftpDir: must be an absolute folder/);
    expect(() => parseTriggerInput({ name: 'drop', sftpDir: '/Import', pattern: 'a/*.csv', request: { ...request, import: imp } })).toThrow(/pattern: is a file name pattern/);
  });
});
