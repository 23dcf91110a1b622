import { posix } from 'node:path';
import type { Logger } from 'pino';
import type { TriggerJob, WatchFolderResult } from '../queues/automation.js';
import { fileRunId, globMatches } from '../src/automation/run-ids.js';
import type { AutomationState, SeenFile } from '../src/automation/state.js';
import type { EnqueueResult } from '../src/client.js';
import type { RemoteFileInfo } from '../src/upload/sftp.js';

export interface WatchFolderContext {
  /** Lists the trigger's folder: the Enhanced FTP (through the uploader's connection cap) or a local folder. */
  list(source: TriggerJob['data']['source']): Promise<RemoteFileInfo[]>;
  enqueue(input: unknown): Promise<EnqueueResult>;
  state: AutomationState;
  log: Logger;
  now: () => number;
}

/**
 * One listing of a file-drop trigger's folder. A matching file starts a run once it has kept the
 * same size and mtime for `settleMs` (measured from when this service first saw them, so the
 * server's clock does not matter); names starting with `.` are temporary uploads and never match.
 * The run's id hashes the name, size and mtime: listing again, a restart or another worker
 * enqueue the same runId, one run; a rewritten file is a new run.
 */
export async function watchFolder(job: TriggerJob, ctx: WatchFolderContext): Promise<WatchFolderResult> {
  const { name, source, pattern, settleMs, request } = job.data;
  const now = ctx.now();
  const listed = (await ctx.list(source)).filter((f) => !f.name.startsWith('.') && globMatches(pattern, f.name));
  const before = await ctx.state.seenFiles(name);
  const after = new Map<string, SeenFile>();
  const started: string[] = [];
  let settling = 0;
  for (const file of listed) {
    const known = before.get(file.name);
    const unchanged = known && known.size === file.size && known.mtimeMs === file.mtimeMs;
    const seen: SeenFile = unchanged ? known : { size: file.size, mtimeMs: file.mtimeMs, since: now };
    after.set(file.name, seen);
    if (seen.runId) continue;
    // A file seen for the first time has not been seen unchanged for any time yet, whatever settleMs.
    if (!unchanged || now - seen.since < settleMs) {
      settling += 1;
      continue;
    }
    const runId = fileRunId(name, file);
    const { created } = await ctx.enqueue(runInput(request, source, file.name, runId));
    seen.runId = runId;
    started.push(runId);
    ctx.log.info({ file: file.name, size: file.size, runId, created }, 'file arrived: run enqueued');
  }
  await ctx.state.saveSeenFiles(name, after);
  return { listed: listed.length, settling, started };
}

function runInput(request: Record<string, unknown>, source: TriggerJob['data']['source'], fileName: string, runId: string): Record<string, unknown> {
  if (source.kind === 'local') return { ...request, runId, file: { path: posix.join(source.dir, fileName) } };
  // Already on the Enhanced FTP: the import reads it where it is, no upload step.
  return { ...request, runId, import: { ...(request.import as Record<string, unknown>), fileSpec: fileName } };
}
