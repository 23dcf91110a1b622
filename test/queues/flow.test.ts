import type { FlowJob } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { buildRunFlow, runSteps } from '../../queues/flow.js';
import { RETENTION_SECONDS } from '../../queues/options.js';
import { parseListSendRequest } from '../../src/request.js';
import { seedRequest } from '../helpers/requests.js';

/** Every node of the flow tree, parents before children. */
function nodes(flow: FlowJob): FlowJob[] {
  return [flow, ...(flow.children ?? []).flatMap(nodes)];
}

/** `parent <- child` for every edge of the tree. */
function edges(flow: FlowJob): string[] {
  return (flow.children ?? []).flatMap((c) => [`${flow.queueName} <- ${c.queueName}`, ...edges(c)]);
}

const settings = { attempts: 5, backoffMs: 10_000 };

describe('building the flow of one run', () => {
  const flow = buildRunFlow(parseListSendRequest(seedRequest({ runId: 'r1' })), settings);
  const all = nodes(flow);

  it('nests send <- poll-import <- start-import <- create-import <- resolve-list', () => {
    expect(edges(flow)).toEqual([
      'send <- poll-import',
      'poll-import <- start-import',
      'start-import <- create-import',
      'create-import <- resolve-list',
    ]);
  });

  it('derives every job id from the runId', () => {
    expect(all.map((n) => n.opts?.jobId)).toEqual(['r1-send', 'r1-poll-import', 'r1-start-import', 'r1-create-import', 'r1-resolve-list']);
  });

  it('fails each parent when a child fails, and keeps finished jobs by age', () => {
    for (const n of all) {
      expect(n.opts?.failParentOnFailure).toBe(n.queueName === 'send' ? undefined : true);
      expect(n.opts?.removeOnComplete).toEqual({ age: RETENTION_SECONDS });
      expect(n.opts?.removeOnFail).toEqual({ age: RETENTION_SECONDS });
      expect(n.opts?.attempts).toBe(5);
      expect(n.opts?.backoff).toMatchObject({ type: 'exponential', delay: 10_000 });
    }
  });
});

describe('building the flow of a run that uploads its file', () => {
  const request = parseListSendRequest(seedRequest({ runId: 'r2', file: { path: '/data/subscribers.csv' } }));
  const flow = buildRunFlow(request, settings);

  it('gives create-import two children that run at the same time: resolve-list and upload-file', () => {
    expect(edges(flow)).toEqual([
      'send <- poll-import',
      'poll-import <- start-import',
      'start-import <- create-import',
      'create-import <- resolve-list',
      'create-import <- upload-file',
    ]);
    const upload = nodes(flow).find((n) => n.queueName === 'upload-file');
    expect(upload?.opts).toMatchObject({ jobId: 'r2-upload-file', failParentOnFailure: true, attempts: 5 });
  });

  it('lists upload-file among the run\'s steps only when there is a file', () => {
    expect(runSteps(request)).toEqual(['resolve-list', 'upload-file', 'create-import', 'start-import', 'poll-import', 'send']);
    expect(runSteps(parseListSendRequest(seedRequest({ runId: 'r3' })))).not.toContain('upload-file');
  });
});
