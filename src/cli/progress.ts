import type { QueueName } from '../../queues/catalog.js';

/** One human line per step event, for stderr while a run is watched. */
export function describeStepEvent(e: { step: QueueName; event: string; detail?: unknown }): string | undefined {
  switch (e.event) {
    case 'active':
      return `  ${e.step}: running`;
    case 'progress': {
      const d = e.detail as { polls?: number; status?: string } | undefined;
      return d?.status ? `  ${e.step}: import ${d.status} (poll ${d.polls ?? 0})` : undefined;
    }
    case 'completed':
      return `  ${e.step}: done`;
    case 'failed':
      return `  ${e.step}: attempt failed: ${String(e.detail ?? '')}`;
    default:
      return undefined;
  }
}
