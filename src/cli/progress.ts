import type { QueueName } from '../../queues/catalog.js';
import { stepPolls } from '../../queues/steps.js';

/** One human line per step event, for stderr while a run is watched. */
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
