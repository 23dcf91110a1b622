import { z } from 'zod';
import { listSendRequestSchema } from '../request.js';
import { automationOpenApi } from './routes/automation.js';
import {
  acceptedSchema,
  cancelledSchema,
  errorSchema,
  existingRunSchema,
  listQuerySchema,
  runIdParamsSchema,
  runListSchema,
  runStatusSchema,
} from './schemas.js';

/**
 * /openapi.json, generated from the zod schemas that validate the requests (OpenAPI 3.1 uses JSON
 * Schema 2020-12, which is what z.toJSONSchema emits).
 */

type JsonSchema = Record<string, unknown>;

function schemaOf(schema: z.ZodType, io: 'input' | 'output' = 'output'): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string, description: string) => ({ description, content: { 'application/json': { schema: ref(name) } } });
const problem = (description: string) => json('Error', description);

function parametersOf(schema: z.ZodObject, where: 'path' | 'query'): JsonSchema[] {
  const properties = (schemaOf(schema, 'input').properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set(where === 'path' ? Object.keys(properties) : []);
  return Object.entries(properties).map(([name, s]) => {
    const { description, ...rest } = s;
    return { name, in: where, required: required.has(name), ...(description ? { description } : {}), schema: rest };
  });
}

export function buildOpenApi(options: { version?: string } = {}): JsonSchema {
  const unauthorized = problem('missing or wrong bearer token');
  const unavailable = problem('Redis is not reachable; nothing was done');
  const limited = {
    ...problem('this token made API_RATE_LIMIT_PER_MINUTE requests in the last minute'),
    headers: { 'Retry-After': { description: 'seconds until the window resets', schema: { type: 'integer' } } },
  };
  const runIdParam = parametersOf(runIdParamsSchema, 'path');
  const automation = automationOpenApi({ unauthorized, unavailable, limited, problem });
  return {
    openapi: '3.1.0',
    info: {
      title: 'list-send',
      version: options.version ?? '0.0.0',
      description: 'Salesforce Marketing Cloud list-based email sends, run as a BullMQ pipeline.',
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/list-sends': {
        post: {
          summary: 'Enqueue a list send',
          description: 'The runId is the idempotency key: the same runId with the same content returns the existing run.',
          requestBody: { required: true, content: { 'application/json': { schema: ref('ListSendRequest') } } },
          responses: {
            '202': json('Accepted', 'enqueued; poll statusUrl'),
            '200': json('ExistingRun', 'this runId was enqueued before with the same content'),
            '400': problem('invalid request: one problem per bad field'),
            '401': unauthorized,
            '409': problem('this runId is taken by a run with different content'),
            '413': problem('the body is over 64 KB'),
            '429': limited,
            '503': problem('Redis is not reachable (redis-unavailable), or this server\'s QUEUE_SHARDS is not the one the workers recorded (queue-layout-mismatch); nothing was enqueued'),
          },
        },
        get: {
          summary: 'Recent runs, most recent first',
          parameters: parametersOf(listQuerySchema, 'query'),
          responses: { '200': json('RunList', 'runs'), '400': problem('invalid query'), '401': unauthorized, '429': limited, '503': unavailable },
        },
      },
      '/v1/list-sends/{runId}': {
        get: {
          summary: "A run's state, each step's state, attempts, result or error, and the import counts",
          parameters: runIdParam,
          responses: {
            '200': json('RunStatus', 'the run'),
            '400': problem('malformed runId'),
            '401': unauthorized,
            '404': problem('no run with this runId'),
            '429': limited,
            '503': unavailable,
          },
        },
        delete: {
          summary: 'Cancel a run that has not reached the Send',
          parameters: runIdParam,
          responses: {
            '202': json('Cancelled', 'cancelled: no step after the current one runs, and the run never sends'),
            '200': json('Cancelled', 'the run was already cancelled'),
            '400': problem('malformed runId'),
            '401': unauthorized,
            '404': problem('no run with this runId'),
            '409': problem('too late: the Send was already claimed'),
            '429': limited,
            '503': unavailable,
          },
        },
      },
      ...automation.paths,
      '/healthz': { get: { summary: 'The process is up', security: [], responses: { '200': { description: 'up' } } } },
      '/readyz': {
        get: {
          summary: 'Redis answers',
          security: [],
          responses: { '200': { description: 'ready' }, '503': { description: 'Redis does not answer' } },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          description: 'Open unless METRICS_TOKEN is set; then it needs that bearer token.',
          security: [{}, { metrics: [] }],
          responses: { '200': { description: 'text exposition format' }, '401': problem('METRICS_TOKEN is set and was not presented') },
        },
      },
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'one of API_TOKENS' },
        metrics: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN' },
      },
      schemas: {
        ListSendRequest: schemaOf(listSendRequestSchema, 'input'),
        Accepted: schemaOf(acceptedSchema),
        ExistingRun: schemaOf(existingRunSchema),
        RunStatus: schemaOf(runStatusSchema),
        RunList: schemaOf(runListSchema),
        Cancelled: schemaOf(cancelledSchema),
        Error: schemaOf(errorSchema),
        ...automation.schemas,
      },
    },
  };
}
