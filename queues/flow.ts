import type { FlowJob } from 'bullmq';
import type { ListSendRequest } from '../src/request.js';
import { OPTIONAL_STEPS, STEP_ORDER, stepJobId, type QueueName, type StepData } from './catalog.js';
import { jobOptionsFor, type StepOptionSettings } from './options.js';

/** The steps a run has, in STEP_ORDER: upload-file only when the request names a file. */
export function runSteps(request: Pick<ListSendRequest, 'file'>): QueueName[] {
  return STEP_ORDER.filter((q) => !OPTIONAL_STEPS.has(q) || (q === 'upload-file' && request.file !== undefined));
}

/**
 * One run is one flow:
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
  const node = (queue: QueueName, children?: FlowJob[]): FlowJob => ({
    name: queue,
    queueName: queue,
    data,
    opts: { ...jobOptionsFor(queue, settings), jobId: stepJobId(request.runId, queue) },
    ...(children ? { children } : {}),
  });
  const importChildren = [node('resolve-list'), ...(request.file ? [node('upload-file')] : [])];
  const createImport = node('create-import', importChildren);
  return node('send', [node('poll-import', [node('start-import', [createImport])])]);
}
