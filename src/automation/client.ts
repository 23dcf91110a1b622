import { Queue } from 'bullmq';
import { AUTOMATION_JOB_OPTIONS, SCHEDULES_QUEUE, TRIGGERS_QUEUE, type ScheduleJobData, type TriggerJobData } from '../../queues/automation.js';
import type { RedisLike } from '../redis.js';
import { accountProblem, RequestValidationError } from '../request.js';
import { parseScheduleInput, parseTriggerInput, type ScheduleDefinition, type TriggerDefinition } from './definitions.js';
import { AutomationState, type ScheduleState } from './state.js';

export interface ScheduleView {
  name: string;
  cron?: string;
  tz?: string;
  everyMs?: number;
  overlap: ScheduleJobData['overlap'];
  /** The next firing, ISO; absent while a firing is being processed. */
  next?: string;
  request: Record<string, unknown>;
  state: ScheduleState;
}

export interface TriggerView {
  name: string;
  source: TriggerJobData['source'];
  pattern: string;
  settleMs: number;
  intervalMs: number;
  next?: string;
  request: Record<string, unknown>;
  /** Files the trigger remembers from its last listing, and the run each started. */
  files: { name: string; size: number; runId?: string }[];
}

/**
 * Adds, lists and removes schedules and file-drop triggers. Each is a BullMQ Job Scheduler whose
 * id is its name (upsertJobScheduler: adding a name again replaces it), in the `schedules` or
 * `triggers` queue; the scheduler's job template carries the definition, so BullMQ is the one
 * store of what is scheduled and no timer of ours runs anywhere.
 */
export class AutomationClient {
  private readonly schedules: Queue<ScheduleJobData>;
  private readonly triggers: Queue<TriggerJobData>;
  private readonly state: AutomationState;

  /** `accounts`: the SFMC accounts a definition's request may name (`default` and SFMC_ACCOUNTS); unset, any. */
  constructor(connection: RedisLike, prefix: string, private readonly accounts?: readonly string[]) {
    this.schedules = new Queue(SCHEDULES_QUEUE, { connection, prefix });
    this.triggers = new Queue(TRIGGERS_QUEUE, { connection, prefix });
    this.state = new AutomationState(connection, prefix);
    for (const q of [this.schedules, this.triggers]) q.on('error', () => {});
  }

  /** Validates (RequestValidationError naming the field) and creates or replaces the schedule. */
  async addSchedule(input: unknown): Promise<ScheduleDefinition> {
    const s = parseScheduleInput(input);
    this.checkAccount(s.request);
    const repeat = s.cron !== undefined ? { pattern: s.cron, ...(s.tz ? { tz: s.tz } : {}) } : { every: s.every! };
    const data: ScheduleJobData = { name: s.name, request: s.request, overlap: s.overlap };
    await this.schedules.upsertJobScheduler(s.name, repeat, { name: 'fire', data, opts: AUTOMATION_JOB_OPTIONS });
    return s;
  }

  async addTrigger(input: unknown): Promise<TriggerDefinition> {
    const t = parseTriggerInput(input);
    this.checkAccount(t.request);
    const source: TriggerJobData['source'] = t.sftpDir !== undefined ? { kind: 'sftp', dir: t.sftpDir } : { kind: 'local', dir: t.localDir! };
    const data: TriggerJobData = { name: t.name, source, pattern: t.pattern, settleMs: t.settle, request: t.request };
    await this.triggers.upsertJobScheduler(t.name, { every: t.interval }, { name: 'watch', data, opts: AUTOMATION_JOB_OPTIONS });
    return t;
  }

  /** Refused now rather than at every firing: the run's account must be one the producers know. */
  private checkAccount(request: Record<string, unknown>): void {
    const problem = accountProblem(request.account, this.accounts);
    if (problem) throw new RequestValidationError([{ ...problem, path: `request.${problem.path}` }]);
  }

  async listSchedules(): Promise<ScheduleView[]> {
    const all = await this.schedules.getJobSchedulers(0, -1, true);
    return Promise.all(
      all.map(async (s) => {
        const data = s.template?.data as ScheduleJobData;
        return {
          name: s.key,
          ...(s.pattern ? { cron: s.pattern } : {}),
          ...(s.tz ? { tz: s.tz } : {}),
          ...(s.every ? { everyMs: s.every } : {}),
          overlap: data.overlap,
          ...(s.next ? { next: new Date(s.next).toISOString() } : {}),
          request: data.request,
          state: await this.state.schedule(s.key),
        };
      }),
    );
  }

  async listTriggers(): Promise<TriggerView[]> {
    const all = await this.triggers.getJobSchedulers(0, -1, true);
    return Promise.all(
      all.map(async (t) => {
        const data = t.template?.data as TriggerJobData;
        const files = [...(await this.state.seenFiles(t.key))].map(([name, f]) => ({ name, size: f.size, ...(f.runId ? { runId: f.runId } : {}) }));
        return {
          name: t.key,
          source: data.source,
          pattern: data.pattern,
          settleMs: data.settleMs,
          intervalMs: t.every ?? 0,
          ...(t.next ? { next: new Date(t.next).toISOString() } : {}),
          request: data.request,
          files,
        };
      }),
    );
  }

  /** False when there was no such schedule. Runs it already started go on. */
  async removeSchedule(name: string): Promise<boolean> {
    const removed = await this.schedules.removeJobScheduler(name);
    if (removed) await this.state.forget('schedule', name);
    return removed;
  }

  /** False when there was no such trigger. Forgetting its files is harmless: their runIds stay claimed. */
  async removeTrigger(name: string): Promise<boolean> {
    const removed = await this.triggers.removeJobScheduler(name);
    if (removed) await this.state.forget('trigger', name);
    return removed;
  }

  async close(): Promise<void> {
    await Promise.all([this.schedules.close(), this.triggers.close()]);
  }
}
