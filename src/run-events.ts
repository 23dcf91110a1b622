import { QueueEvents } from 'bullmq';
import { QUEUE_NAMES, type QueueName } from '../queues/catalog.js';
import type { RedisLike } from './redis.js';

export interface StepEvent {
  step: QueueName;
  event: 'active' | 'progress' | 'delayed' | 'completed' | 'failed';
  detail?: unknown;
}

type Listener = (e: StepEvent) => void;

const EVENTS = ['active', 'progress', 'delayed', 'completed', 'failed'] as const;

/**
 * One QueueEvents per queue for the whole producer, however many runs are being watched: each
 * event is routed to the watchers of its run by job id (`<runId>-<queue>`).
 */
export class RunEvents {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly queueEvents: QueueEvents[];
  private readonly ready: Promise<void>;

  /** `connection` must be a worker-style connection: QueueEvents blocks on XREAD. */
  constructor(connection: RedisLike, prefix: string) {
    this.queueEvents = QUEUE_NAMES.map((step) => {
      const events = new QueueEvents(step, { connection, prefix });
      events.on('error', () => {}); // ioredis reconnects by itself and the stream is read on from there
      const suffix = `-${step}`;
      for (const event of EVENTS) {
        events.on(event, (args: { jobId: string; data?: unknown; failedReason?: string }) => {
          if (!args.jobId.endsWith(suffix)) return;
          const watchers = this.listeners.get(args.jobId.slice(0, -suffix.length));
          if (!watchers) return;
          const e: StepEvent = { step, event, detail: args.data ?? args.failedReason };
          for (const listener of watchers) listener(e);
        });
      }
      return events;
    });
    this.ready = Promise.all(this.queueEvents.map((q) => q.waitUntilReady())).then(() => undefined);
  }

  /** Resolves once every stream is being read, so no later event can be missed. */
  async subscribe(runId: string, listener: Listener): Promise<() => void> {
    let set = this.listeners.get(runId);
    if (!set) this.listeners.set(runId, (set = new Set()));
    set.add(listener);
    await this.ready;
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(runId);
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.queueEvents.map((q) => q.close()));
  }
}
