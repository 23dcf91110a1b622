import type { QueueName } from '../../../queues/catalog.js';
import type { ListSendClient, RunState } from '../../client.js';
import { LIST_SCAN_LIMIT } from '../routes/list-sends.js';
import { toRunView, type RunView, type StepTiming } from './view.js';

/**
 * The runs pages' data: a page of recent runs matching a filter, and one run with its steps'
 * timings. Every read goes through ListSendClient (status, request, recentRunIds) and the step
 * jobs themselves (for start and end times); the cost of a page is bounded by LIST_SCAN_LIMIT
 * runs looked at, whatever the filter.
 */

export const RUNS_PAGE_SIZE = 20;

export interface RunFilter {
  state?: RunState;
  account?: string;
  /** A schedule's or trigger's name: its runs have runIds `NAME-...` (src/automation/run-ids.ts). */
  source?: string;
  /** A piece of a runId or of the List's name, case-insensitive. */
  search?: string;
}

export function matchesFilter(view: RunView, filter: RunFilter): boolean {
  if (filter.state && view.state !== filter.state) return false;
  if (filter.account && view.account !== filter.account) return false;
  if (filter.source && !view.runId.startsWith(`${filter.source}-`)) return false;
  if (filter.search) {
    const needle = filter.search.toLowerCase();
    if (!view.runId.toLowerCase().includes(needle) && !(view.list ?? '').toLowerCase().includes(needle)) return false;
  }
  return true;
}

export interface RunsPage {
  runs: RunView[];
  page: number;
  hasMore: boolean;
  /** How many recent runs were looked at; a filter that matches rarely stops at LIST_SCAN_LIMIT. */
  scanned: number;
  scanCapped: boolean;
}

export class RunsData {
  constructor(private readonly producer: ListSendClient) {}

  /** Start and end of each step, from its BullMQ job (processedOn, finishedOn) in the run's shard. */
  private async timings(runId: string, steps: readonly QueueName[]): Promise<Partial<Record<string, StepTiming>>> {
    const entries = await Promise.all(
      steps.map(async (step) => {
        const job = await this.producer.stepJob(runId, step);
        const t: StepTiming = {
          ...(job?.processedOn ? { startedAt: new Date(job.processedOn).toISOString() } : {}),
          ...(job?.finishedOn ? { finishedAt: new Date(job.finishedOn).toISOString() } : {}),
        };
        return [step, t] as const;
      }),
    );
    return Object.fromEntries(entries);
  }

  /** One run; without `timings`, no step job is read for start and end times (for filtering). */
  async run(runId: string, options: { timings?: boolean } = {}): Promise<RunView | undefined> {
    const [status, request] = await Promise.all([this.producer.status(runId), this.producer.request(runId)]);
    if (!status) return undefined;
    const timings = options.timings === false ? {} : await this.timings(runId, status.steps.map((s) => s.step));
    return toRunView(status, request, timings);
  }

  /** Page `page` (1-based) of the runs matching `filter`, newest first. */
  async list(filter: RunFilter, page: number, pageSize = RUNS_PAGE_SIZE): Promise<RunsPage> {
    const wanted = page * pageSize + 1;
    const filtered = Boolean(filter.state || filter.account || filter.source || filter.search);
    const ids = await this.producer.recentRunIds(filtered ? LIST_SCAN_LIMIT : Math.min(wanted, LIST_SCAN_LIMIT));
    const matches: RunView[] = [];
    const batch = 25;
    let scanned = 0;
    for (let i = 0; i < ids.length && matches.length < wanted; i += batch) {
      const slice = ids.slice(i, i + batch);
      scanned += slice.length;
      // Timings are read for the page's runs only, below: filtering needs none.
      const views = await Promise.all(slice.map((id) => this.run(id, { timings: false })));
      for (const v of views) if (v && matchesFilter(v, filter)) matches.push(v);
    }
    const shown = await Promise.all(matches.slice((page - 1) * pageSize, page * pageSize).map(async (v) => (await this.run(v.runId)) ?? v));
    return {
      runs: shown,
      page,
      hasMore: matches.length > page * pageSize,
      scanned,
      scanCapped: ids.length === LIST_SCAN_LIMIT && scanned === ids.length,
    };
  }
}
