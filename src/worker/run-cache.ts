import type { ListSendRequest } from '../request.js';
import type { Destination } from '../runs.js';

/** What a worker keeps of a run between its steps: what never changes once known. */
export interface CachedRun {
  /** Immutable once claimed: the registry holds the one copy and nothing rewrites it. */
  request: ListSendRequest;
  /** Only as read by a step that runs after resolve-list completed: from then on it is fixed. */
  destination?: Destination;
}

export const RUN_CACHE_SIZE = 1_000;

/**
 * The runs this worker process has read from the run registry, so a later step of the same run
 * does not read (and parse) its request again (issue #14). Bounded: at most `limit` runs, the
 * least recently used dropped first (a Map keeps insertion order; a hit moves the run to the end).
 * A run leaves it when its last step ends. A miss costs what every step cost before: one read.
 */
export class RunCache {
  private readonly runs = new Map<string, CachedRun>();

  constructor(readonly limit = RUN_CACHE_SIZE) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('the run cache holds at least one run');
  }

  get size(): number {
    return this.runs.size;
  }

  get(runId: string): CachedRun | undefined {
    const run = this.runs.get(runId);
    if (run) {
      this.runs.delete(runId);
      this.runs.set(runId, run);
    }
    return run;
  }

  set(runId: string, run: CachedRun): void {
    this.runs.delete(runId);
    this.runs.set(runId, run);
    if (this.runs.size > this.limit) this.runs.delete(this.runs.keys().next().value as string);
  }

  delete(runId: string): void {
    this.runs.delete(runId);
  }
}
