import type { QueueName } from '../../queues/catalog.js';
import type { ListSendClient, RunStatus } from '../client.js';
import { toRunView } from '../api/runs-page/view.js';
import { StepLines, type LineSink } from './step-lines.js';
import { stepPolls } from '../../queues/steps.js';

/** One human line per step event (the demo's narration; `enqueue --wait` and `watch` use followRun), for stderr while a run is watched. */
export function describeStepEvent(e: { step: QueueName; event: string; detail?: unknown }): string | undefined {
  switch (e.event) {
    case 'active':
      // A polling step becomes active at every check; its progress lines say more.
      return stepPolls(e.step) ? undefined : `  ${e.step}: running`;
    case 'progress': {
      const d = e.detail as { polls?: number; checks?: number; status?: string; uploadedBytes?: number; totalBytes?: number } | undefined;
      if (d?.uploadedBytes !== undefined && d.totalBytes) {
        return `  ${e.step}: ${Math.floor((100 * d.uploadedBytes) / d.totalBytes)}% of ${d.totalBytes.toLocaleString('en-US')} bytes checked and sent`;
      }
      if (!d?.status) return undefined;
      // A polling step reports SFMC's status and how many checks it made (processors/polling.ts).
      const checks = d.polls ?? d.checks ?? 0;
      return checks === 0 ? `  ${e.step}: ${d.status}, waiting for SFMC` : `  ${e.step}: ${d.status} (check ${checks})`;
    }
    case 'completed':
      return `  ${e.step}: done`;
    case 'failed':
      return `  ${e.step}: attempt failed: ${String(e.detail ?? '')}`;
    default:
      return undefined;
  }
}

/**
 * Follows a run to its end, drawing its step lines (step-lines.ts) after every step event: the
 * shared core of `enqueue --wait` and `watch`. Reads are serialised: events that arrive while a
 * read is under way cause one more read, not one each.
 */
export async function followRun(producer: ListSendClient, runId: string, out: LineSink, options: { timeoutMs?: number } = {}): Promise<RunStatus> {
  const lines = new StepLines(out);
  const request = await producer.request(runId);
  let inflight: Promise<void> = Promise.resolve();
  let queued = false;
  const draw = (status: RunStatus | undefined) => {
    if (status) lines.render(toRunView(status, request).steps);
  };
  const refresh = () => {
    if (queued) return;
    queued = true;
    inflight = inflight.then(async () => {
      queued = false;
      draw(await producer.status(runId).catch(() => undefined));
    });
  };
  refresh();
  const status = await producer.waitUntilFinished(runId, { ...options, onEvent: refresh });
  await inflight;
  draw(status);
  return status;
}

