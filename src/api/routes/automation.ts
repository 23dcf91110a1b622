import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AutomationClient } from '../../automation/client.js';
import { automationNameSchema, scheduleInputSchema, triggerInputSchema } from '../../automation/definitions.js';
import type { RedisLike } from '../../redis.js';
import { RequestValidationError } from '../../request.js';
import { apiError } from '../schemas.js';

/**
 * /v1/schedules and /v1/triggers: add (PUT, by name: adding a name again replaces it), list and
 * remove, over AutomationClient. Registered inside the /v1 scope, so bearer tokens, the rate
 * limit and the Redis fail-fast check apply as to /v1/list-sends. Bodies are validated by the same
 * schemas as the CLI (src/automation/definitions.ts), the request inside by the run request schema.
 */
export async function registerAutomationRoutes(
  v1: FastifyInstance,
  deps: { redis: RedisLike; prefix: string; accounts?: readonly string[] | undefined },
): Promise<void> {
  // The producer's accounts: a definition naming another is refused when added, not at each firing.
  const admin = new AutomationClient(deps.redis, deps.prefix, deps.accounts);
  v1.addHook('onClose', async () => admin.close());
  const nameOf = (params: unknown): string => {
    const parsed = automationNameSchema.safeParse((params as { name?: unknown }).name);
    if (!parsed.success) throw new RequestValidationError(parsed.error.issues.map((i) => ({ path: 'name', message: i.message })));
    return parsed.data;
  };
  const body = (raw: unknown, name: string) => ({ ...(raw && typeof raw === 'object' ? raw : {}), name });

  v1.put('/schedules/:name', async (request, reply) => {
    const s = await admin.addSchedule(body(request.body, nameOf(request.params)));
    return reply.code(200).send({ name: s.name });
  });
  v1.get('/schedules', async () => ({ schedules: await admin.listSchedules() }));
  v1.delete('/schedules/:name', async (request, reply) => {
    const name = nameOf(request.params);
    if (!(await admin.removeSchedule(name))) return reply.code(404).send(apiError('not-found', `no schedule named ${name}`));
    return reply.code(204).send();
  });

  v1.put('/triggers/:name', async (request, reply) => {
    const t = await admin.addTrigger(body(request.body, nameOf(request.params)));
    return reply.code(200).send({ name: t.name });
  });
  v1.get('/triggers', async () => ({ triggers: await admin.listTriggers() }));
  v1.delete('/triggers/:name', async (request, reply) => {
    const name = nameOf(request.params);
    if (!(await admin.removeTrigger(name))) return reply.code(404).send(apiError('not-found', `no trigger named ${name}`));
    return reply.code(204).send();
  });
}

/** The body of a PUT: the definition without its name, which is in the path. */
const bodyOf = <T extends z.ZodType>(schema: T) => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const properties = { ...(rest.properties as Record<string, unknown>) };
  delete properties.name;
  return { ...rest, properties, required: ((rest.required as string[] | undefined) ?? []).filter((r) => r !== 'name') };
};

/** The OpenAPI paths and schemas of these routes, merged into /openapi.json by openapi.ts. */
export function automationOpenApi(common: { unauthorized: unknown; unavailable: unknown; limited: unknown; problem: (d: string) => unknown }) {
  const nameParam = [{ name: 'name', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]+$', maxLength: 48 } }];
  const errors = { '401': common.unauthorized, '429': common.limited, '503': common.unavailable };
  const crud = (what: 'Schedule' | 'Trigger', plural: string) => ({
    [`/v1/${plural}`]: {
      get: { summary: `Every ${what.toLowerCase()}`, responses: { '200': { description: `the ${plural}` }, ...errors } },
    },
    [`/v1/${plural}/{name}`]: {
      put: {
        summary: `Create or replace a ${what.toLowerCase()}`,
        parameters: nameParam,
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${what}Input` } } } },
        responses: { '200': { description: 'saved' }, '400': common.problem('invalid definition: one problem per bad field'), '413': common.problem('the body is over 64 KB'), ...errors },
      },
      delete: {
        summary: `Remove a ${what.toLowerCase()}; runs it started go on`,
        parameters: nameParam,
        responses: { '204': { description: 'removed' }, '400': common.problem('malformed name'), '404': common.problem(`no ${what.toLowerCase()} with this name`), ...errors },
      },
    },
  });
  return {
    paths: { ...crud('Schedule', 'schedules'), ...crud('Trigger', 'triggers') },
    schemas: { ScheduleInput: bodyOf(scheduleInputSchema), TriggerInput: bodyOf(triggerInputSchema) },
  };
}
