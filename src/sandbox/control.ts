import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { FaultRuleError } from './faults.js';
import { sendJson, type Runtime } from './runtime.js';
import type { Sandbox } from './types.js';

/**
 * /__sandbox/*: inspection and control over plain JSON, for tests and for people driving the
 * CLI sandbox with curl. Nothing here ever carries a token, secret or password.
 */

export const importBehaviourSchema = z
  .object({
    customerKey: z.string().min(1).optional(),
    outcome: z.enum(['Completed', 'Error']).optional(),
    durationMs: z.number().int().min(0).optional(),
    registerDelayMs: z.number().int().min(0).optional(),
    rows: z.number().int().min(0).optional(),
    numberErrors: z.number().int().min(0).optional(),
    numberDuplicated: z.number().int().min(0).optional(),
  })
  .strict();

/** SendBehaviour (types.ts, sends.ts) over JSON, for the CLI sandbox. */
export const sendBehaviourSchema = z
  .object({
    checksUntilFinal: z.number().int().min(0).max(1000).optional(),
    finalStatus: z.enum(['Complete', 'Canceled', 'Error']).optional(),
    hardBounces: z.number().int().min(0).optional(),
    softBounces: z.number().int().min(0).optional(),
    otherBounces: z.number().int().min(0).optional(),
  })
  .strict();

const namedSchema = z.object({ id: z.union([z.string().min(1), z.number().int()]).optional(), name: z.string().min(1) }).strict();
const emailSchema = namedSchema.extend({ subject: z.string().min(1).optional() }).strict();

type ControlApi = Pick<Sandbox, 'reset' | 'setImportBehaviour' | 'setSendBehaviour' | 'addList' | 'addEmail'>;

function parseJson(raw: string): unknown {
  if (raw.trim() === '') return {};
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

function issues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
}

export function handleControl(rt: Runtime, api: ControlApi, method: string, path: string, raw: string, res: ServerResponse): void {
  const route = `${method} ${path.replace(/\/+$/, '')}`;
  const body = parseJson(raw);
  if (body === undefined) return sendJson(res, 400, { error: 'body is not JSON' });

  switch (route) {
    case 'GET /__sandbox/state':
      return sendJson(res, 200, {
        ...rt.store.snapshot(),
        importBehaviour: rt.store.importBehaviours(),
        faults: rt.faults.list(),
      });
    case 'GET /__sandbox/calls':
      return sendJson(res, 200, rt.calls.list());
    case 'GET /__sandbox/faults':
      return sendJson(res, 200, rt.faults.list());
    case 'POST /__sandbox/faults':
      try {
        return sendJson(res, 201, { id: rt.faults.inject(body as never) });
      } catch (err) {
        if (err instanceof FaultRuleError) return sendJson(res, 400, { error: err.message });
        throw err;
      }
    case 'DELETE /__sandbox/faults':
      rt.faults.clear();
      return sendJson(res, 200, { cleared: true });
    case 'POST /__sandbox/import-behaviour': {
      const parsed = importBehaviourSchema.safeParse(body);
      if (!parsed.success) return sendJson(res, 400, { error: issues(parsed.error) });
      api.setImportBehaviour(parsed.data);
      return sendJson(res, 200, rt.store.importBehaviours());
    }
    case 'POST /__sandbox/send-behaviour': {
      const parsed = sendBehaviourSchema.safeParse(body);
      if (!parsed.success) return sendJson(res, 400, { error: issues(parsed.error) });
      api.setSendBehaviour(parsed.data);
      return sendJson(res, 200, rt.store.sendBehaviour());
    }
    case 'POST /__sandbox/lists': {
      const parsed = namedSchema.safeParse(body);
      if (!parsed.success) return sendJson(res, 400, { error: issues(parsed.error) });
      return sendJson(res, 201, api.addList(parsed.data));
    }
    case 'POST /__sandbox/emails': {
      const parsed = emailSchema.safeParse(body);
      if (!parsed.success) return sendJson(res, 400, { error: issues(parsed.error) });
      return sendJson(res, 201, api.addEmail(parsed.data));
    }
    case 'POST /__sandbox/reset':
      api.reset();
      return sendJson(res, 200, { reset: true });
    default: {
      const faultId = /^DELETE \/__sandbox\/faults\/([\w-]+)$/.exec(route)?.[1];
      if (faultId) {
        return rt.faults.remove(faultId) ? sendJson(res, 200, { removed: faultId }) : sendJson(res, 404, { error: `no fault ${faultId}` });
      }
      return sendJson(res, 404, { error: `no sandbox endpoint ${route}` });
    }
  }
}
