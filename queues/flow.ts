import type { FlowJob } from 'bullmq';
import type { ListSendRequest } from '../src/request.js';
import { stepJobId, type QueueName, type StepData } from './catalog.js';
import { jobOptionsFor, type StepOptionSettings } from './options.js';
import { childSteps, runEndStep, runSteps } from './steps.js';

export { runSteps } from './steps.js';

/**
 * One run is one flow, shaped by the step table (queues/steps.ts): each step's children are the
 * steps it needs, and the root is the run's last step. Today:
 *
 *   send <- poll-import <- start-import <- create-import <- resolve-list
 *                                                       <- upload-file   (only with `file`)
 *
 * BullMQ runs children first, and a parent only when all its children have completed: the upload
 * and the List lookup run at the same time, and create-import waits for both. A failing child
 * fails its parent at once (failParentOnFailure), so a bad file stops the run before any SOAP
 * call that changes something.
 */
export function buildRunFlow(request: ListSendRequest, settings: StepOptionSettings): FlowJob {
  const data: StepData = { runId: request.runId };
  const present = runSteps(request);
  const node = (queue: QueueName, isRoot: boolean): FlowJob => {
    const children = childSteps(queue, present).map((child) => node(child, false));
    return {
      name: queue,
      queueName: queue,
      data,
      opts: { ...jobOptionsFor(settings, { isRoot }), jobId: stepJobId(request.runId, queue) },
      ...(children.length > 0 ? { children } : {}),
    };
  };
  return node(runEndStep(request), true);
}
