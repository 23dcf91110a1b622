import type { FlowJob } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { buildRunFlow } from '../../queues/flow.js';
import { RETENTION_SECONDS } from '../../queues/options.js';
import { parseListSendRequest } from '../../src/request.js';
import { seedRequest } from '../helpers/requests.js';

function chain(flow: FlowJob): FlowJob[] {
  const out: FlowJob[] = [];
  for (let node: FlowJob | undefined = flow; node; node = node.children?.[0]) out.push(node);
  return out;
}

describe('building the flow of one run', () => {
  const flow = buildRunFlow(parseListSendRequest(seedRequest({ runId: 'r1' })), { attempts: 5, backoffMs: 10_000 });
  const nodes = chain(flow);

  it('nests send <- poll-import <- start-import <- create-import <- resolve-list', () => {
    expect(nodes.map((n) => n.queueName)).toEqual(['send', 'poll-import', 'start-import', 'create-import', 'resolve-list']);
    expect(nodes.every((n) => (n.children?.length ?? 0) <= 1)).toBe(true);
  });

  it('derives every job id from the runId', () => {
    expect(nodes.map((n) => n.opts?.jobId)).toEqual(['r1-send', 'r1-poll-import', 'r1-start-import', 'r1-create-import', 'r1-resolve-list']);
  });

  it('fails each parent when a child fails, and keeps finished jobs by age', () => {
    for (const n of nodes) {
      expect(n.opts?.failParentOnFailure).toBe(n.queueName === 'send' ? undefined : true);
      expect(n.opts?.removeOnComplete).toEqual({ age: RETENTION_SECONDS });
      expect(n.opts?.removeOnFail).toEqual({ age: RETENTION_SECONDS });
      expect(n.opts?.attempts).toBe(5);
      expect(n.opts?.backoff).toMatchObject({ type: 'exponential', delay: 10_000 });
    }
  });
});
