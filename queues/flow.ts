import type { FlowJob } from 'bullmq';
import type { ListSendRequest } from '../src/request.js';
import { STEP_ORDER, stepJobId, type QueueName, type StepData } from './catalog.js';
import { jobOptionsFor, type StepOptionSettings } from './options.js';

/**
 * One run is one flow: send <- poll-import <- start-import <- create-import <- resolve-list.
 * BullMQ runs the deepest child first, and a parent only when its child has completed.
 */
export function buildRunFlow(request: ListSendRequest, settings: StepOptionSettings): FlowJob {
  const data: StepData = { runId: request.runId, request };
  const node = (queue: QueueName, children?: FlowJob[]): FlowJob => ({
    name: queue,
    queueName: queue,
    data,
    opts: { ...jobOptionsFor(queue, settings), jobId: stepJobId(request.runId, queue) },
    ...(children ? { children } : {}),
  });
  // Build from the first step outward: each later step is the parent of the one before it.
  let flow: FlowJob | undefined;
  for (const queue of STEP_ORDER) flow = node(queue, flow ? [flow] : undefined);
  return flow as FlowJob;
}
