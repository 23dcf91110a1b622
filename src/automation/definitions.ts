import { getNextMillis } from 'bullmq';
import { z } from 'zod';
import { parseListSendRequest, RequestValidationError, type FieldProblem } from '../request.js';

/**
 * What `schedule add` and `trigger add` (CLI and API) accept, validated before anything is stored:
 * the names, the timing, and the request with the same schema as a run's, checked with the runId
 * and file a firing or a file would give it.
 */

/**
 * A schedule's or trigger's name starts its runs' ids (`NAME-<firing time>`, `NAME-<16 hex>`),
 * and runIds are at most 80 letters, digits, - and _: 48 leaves room for either suffix.
 */
export const automationNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, 'may hold only letters, digits, - and _')
  .min(1, 'must not be empty')
  .max(48, 'must be at most 48 characters (it starts every runId of its runs)');

const DURATION = /^([0-9]+)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `10m`, `30s`, `1h`, `500ms` or a bare number of milliseconds. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  const m = DURATION.exec(value.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2] ?? 'ms']! : undefined;
}

const duration = (min: number, max: number, wholeSeconds = false) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration like 30s, 10m or 1h' });
      return z.NEVER;
    }
    if (ms < min || ms > max) ctx.addIssue({ code: 'custom', message: `must be between ${min / 1000}s and ${max / 1000}s` });
    // Firing times name runs to the second (firingRunId).
    else if (wholeSeconds && ms % 1000 !== 0) ctx.addIssue({ code: 'custom', message: 'must be a whole number of seconds' });
    return ms;
  });

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Five-field cron, or six with seconds first (BullMQ's cron-parser reads both), checked by asking
 * BullMQ for the next firing, so what is accepted here is exactly what the scheduler can run.
 */
function cronProblem(pattern: string, tz: string | undefined): string | undefined {
  const fields = pattern.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) return 'must have 5 fields (minute hour day month weekday) or 6 (seconds first)';
  try {
    const next = getNextMillis(Date.now(), { pattern, ...(tz ? { tz } : {}) });
    return next === undefined ? 'never fires' : undefined;
  } catch (err) {
    return `is not a valid cron expression (${err instanceof Error ? err.message : String(err)})`;
  }
}

export const scheduleInputSchema = z
  .strictObject({
    name: automationNameSchema,
    cron: z.string().max(120).optional(),
    tz: z.string().max(64).refine(validTimeZone, 'must be an IANA time zone such as Europe/Paris').optional(),
    every: duration(1_000, 31 * 86_400_000, true).optional(),
    overlap: z.enum(['skip', 'allow']).default('skip'),
    request: z.record(z.string(), z.unknown()),
  })
  .superRefine((s, ctx) => {
    if ((s.cron === undefined) === (s.every === undefined)) ctx.addIssue({ code: 'custom', path: ['cron'], message: 'give exactly one of cron and every' });
    if (s.tz !== undefined && s.cron === undefined) ctx.addIssue({ code: 'custom', path: ['tz'], message: 'applies only to cron' });
    if (s.cron !== undefined) {
      const problem = cronProblem(s.cron, s.tz);
      if (problem) ctx.addIssue({ code: 'custom', path: ['cron'], message: problem });
    }
  });

export type ScheduleInput = z.input<typeof scheduleInputSchema>;
export type ScheduleDefinition = z.output<typeof scheduleInputSchema>;

export const triggerInputSchema = z
  .strictObject({
    name: automationNameSchema,
    sftpDir: z.string().min(1).max(200).optional(),
    localDir: z.string().min(1).max(1_024).optional(),
    pattern: z
      .string()
      .min(1)
      .max(200)
      .refine((p) => !p.includes('/') && !p.includes('\\'), 'is a file name pattern, without a folder')
      .default('*'),
    settle: duration(0, 86_400_000).default(30_000),
    interval: duration(1_000, 86_400_000).default(60_000),
    request: z.record(z.string(), z.unknown()),
  })
  .superRefine((t, ctx) => {
    if ((t.sftpDir === undefined) === (t.localDir === undefined)) ctx.addIssue({ code: 'custom', path: ['sftpDir'], message: 'give exactly one of sftpDir and localDir' });
    if (t.sftpDir !== undefined && !t.sftpDir.startsWith('/')) ctx.addIssue({ code: 'custom', path: ['sftpDir'], message: 'must be an absolute folder on the Enhanced FTP, such as /Import' });
    if (t.localDir !== undefined && !t.localDir.startsWith('/')) ctx.addIssue({ code: 'custom', path: ['localDir'], message: 'must be an absolute path on the worker\'s machine' });
  });

export type TriggerInput = z.input<typeof triggerInputSchema>;
export type TriggerDefinition = z.output<typeof triggerInputSchema>;

function problemsOf(error: z.ZodError, under = ''): FieldProblem[] {
  return error.issues.map((i) => ({ path: [under, ...i.path.map(String)].filter(Boolean).join('.'), message: i.message }));
}

/** The request's own problems, reported under `request.`. */
function checkRequest(request: Record<string, unknown>, sample: Record<string, unknown>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if ('runId' in request) problems.push({ path: 'request.runId', message: 'must not be given: each firing or file gets its own runId' });
  try {
    parseListSendRequest({ ...request, ...sample, runId: 'automation-check' });
  } catch (err) {
    if (!(err instanceof RequestValidationError)) throw err;
    problems.push(...err.problems.map((p) => ({ path: `request.${p.path}`, message: p.message })));
  }
  return problems;
}

export function parseScheduleInput(input: unknown): ScheduleDefinition {
  const parsed = scheduleInputSchema.safeParse(input);
  if (!parsed.success) throw new RequestValidationError(problemsOf(parsed.error));
  const problems = checkRequest(parsed.data.request, {});
  if (problems.length) throw new RequestValidationError(problems);
  return parsed.data;
}

export function parseTriggerInput(input: unknown): TriggerDefinition {
  const parsed = triggerInputSchema.safeParse(input);
  if (!parsed.success) throw new RequestValidationError(problemsOf(parsed.error));
  const t = parsed.data;
  const problems: FieldProblem[] = [];
  // The file names the run's file: the request may not name one of its own.
  if ('file' in t.request) problems.push({ path: 'request.file', message: 'must not be given: the trigger\'s file is the run\'s file' });
  const imp = t.request.import;
  if (imp && typeof imp === 'object' && 'fileSpec' in imp) {
    problems.push({ path: 'request.import.fileSpec', message: 'must not be given: the trigger sets it from the file that arrived' });
  }
  const sample = t.sftpDir !== undefined
    ? { import: { ...(imp as Record<string, unknown> | undefined), fileSpec: 'sample.csv' } }
    : { file: { path: `${t.localDir}/sample.csv` } };
  if (!problems.length) problems.push(...checkRequest(t.request, sample));
  if (problems.length) throw new RequestValidationError(problems);
  return t;
}
