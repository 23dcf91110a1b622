import type { RedisLike } from '../redis.js';

/**
 * What schedules and triggers remember between firings, beside the queues under the same
 * hash-tagged prefix (one Cluster slot). The definitions themselves live in BullMQ's Job
 * Schedulers (their job template); this is only:
 *
 * - `<prefix>:schedule-state:<name>`, a hash: lastRunId, lastFiredAt, skipped (a count).
 * - `<prefix>:trigger-files:<name>`, a hash fileName -> JSON {size, mtimeMs, since, runId?}: when
 *   the file was first seen with this size and mtime, and the run it started once settled.
 */

export interface ScheduleState {
  lastRunId?: string;
  lastFiredAt?: string;
  skipped: number;
}

export interface SeenFile {
  size: number;
  mtimeMs: number;
  /** Our clock when this size and mtime were first listed: settling is measured on it, not on the server's. */
  since: number;
  runId?: string;
}

export class AutomationState {
  constructor(
    private readonly redis: RedisLike,
    private readonly prefix: string,
  ) {}

  private scheduleKey(name: string): string {
    return `${this.prefix}:schedule-state:${name}`;
  }

  private filesKey(name: string): string {
    return `${this.prefix}:trigger-files:${name}`;
  }

  async schedule(name: string): Promise<ScheduleState> {
    const raw = await this.redis.hgetall(this.scheduleKey(name));
    return {
      ...(raw.lastRunId ? { lastRunId: raw.lastRunId } : {}),
      ...(raw.lastFiredAt ? { lastFiredAt: raw.lastFiredAt } : {}),
      skipped: Number(raw.skipped ?? 0),
    };
  }

  async recordFiring(name: string, runId: string, at: Date): Promise<void> {
    await this.redis.hset(this.scheduleKey(name), 'lastRunId', runId, 'lastFiredAt', at.toISOString());
  }

  async countSkip(name: string): Promise<number> {
    return this.redis.hincrby(this.scheduleKey(name), 'skipped', 1);
  }

  async seenFiles(name: string): Promise<Map<string, SeenFile>> {
    const raw = await this.redis.hgetall(this.filesKey(name));
    return new Map(Object.entries(raw).map(([file, json]) => [file, JSON.parse(json) as SeenFile]));
  }

  /** Replaces the trigger's memory with what the last listing showed (files gone are forgotten). */
  async saveSeenFiles(name: string, files: Map<string, SeenFile>): Promise<void> {
    const key = this.filesKey(name);
    const multi = this.redis.multi().del(key);
    if (files.size) multi.hset(key, Object.fromEntries([...files].map(([f, s]) => [f, JSON.stringify(s)])));
    await multi.exec();
  }

  async forget(kind: 'schedule' | 'trigger', name: string): Promise<void> {
    await this.redis.del(kind === 'schedule' ? this.scheduleKey(name) : this.filesKey(name));
  }
}
