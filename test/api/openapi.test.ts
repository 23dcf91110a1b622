import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { listSendRequestSchema } from '../../src/request.js';
import { startApi, type ApiHarness } from './harness.js';

type Json = Record<string, unknown>;

/** Every `$ref` in a document, wherever it appears. */
function refs(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => refs(v, found));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') found.push(v);
      else refs(v, found);
    }
  }
  return found;
}

describe('GET /openapi.json', () => {
  let api: ApiHarness;
  let doc: Json;
  beforeAll(async () => {
    api = startApi({ label: 'api-openapi' });
    const res = await api.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    doc = res.json();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('is an OpenAPI 3.1 document with every endpoint and its status codes', () => {
    expect(doc.openapi).toBe('3.1.0');
    const paths = doc.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;
    const operations = Object.entries(paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => `${method.toUpperCase()} ${path} ${Object.keys(op.responses).sort().join(',')}`),
    );
    expect(operations.sort()).toEqual([
      'DELETE /v1/list-sends/{runId} 200,202,400,401,404,409,429,503',
      'DELETE /v1/schedules/{name} 204,400,401,404,429,503',
      'DELETE /v1/triggers/{name} 204,400,401,404,429,503',
      'GET /healthz 200',
      'GET /metrics 200,401',
      'GET /readyz 200,503',
      'GET /v1/list-sends 200,400,401,429,503',
      'GET /v1/list-sends/{runId} 200,400,401,404,429,503',
      'GET /v1/schedules 200,401,429,503',
      'GET /v1/triggers 200,401,429,503',
      'POST /v1/list-sends 200,202,400,401,409,413,429,503',
      'PUT /v1/schedules/{name} 200,400,401,413,429,503',
      'PUT /v1/triggers/{name} 200,400,401,413,429,503',
    ]);
  });

  it('describes the request body with the schema that validates it', () => {
    const schemas = (doc.components as { schemas: Record<string, Json> }).schemas;
    const { $schema: _ignored, ...expected } = z.toJSONSchema(listSendRequestSchema, { io: 'input', unrepresentable: 'any' }) as Json;
    expect(schemas.ListSendRequest).toEqual(expected);
    expect(Object.keys(schemas.ListSendRequest?.properties as Json).sort()).toEqual(Object.keys(listSendRequestSchema.shape).sort());
    expect(schemas.ListSendRequest?.required).toEqual(['list', 'email', 'import']);
    expect(schemas.ListSendRequest?.additionalProperties).toBe(false);
  });

  it('resolves every $ref to a component schema', () => {
    const schemas = (doc.components as { schemas: Record<string, Json> }).schemas;
    const all = refs(doc.paths);
    expect(all.length).toBeGreaterThan(10);
    for (const ref of all) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(schemas[ref.split('/').pop() as string], ref).toBeDefined();
    }
  });

  it('documents the path and query parameters from their zod schemas', () => {
    const paths = doc.paths as Record<string, Record<string, { parameters?: Json[] }>>;
    expect(paths['/v1/list-sends/{runId}']?.get?.parameters).toEqual([
      expect.objectContaining({ name: 'runId', in: 'path', required: true, schema: expect.objectContaining({ pattern: '^[A-Za-z0-9_-]+$' }) }),
    ]);
    const query = paths['/v1/list-sends']?.get?.parameters ?? [];
    expect(query.map((p) => [p.name, p.in, p.required])).toEqual([
      ['state', 'query', false],
      ['limit', 'query', false],
    ]);
    expect((query[0]?.schema as Json).enum).toEqual(['waiting', 'running', 'completed', 'failed', 'cancelled']);
  });

  it('declares bearer authentication, and none on the probes', () => {
    expect(doc.security).toEqual([{ bearer: [] }]);
    const paths = doc.paths as Record<string, Record<string, { security?: unknown[] }>>;
    expect(paths['/healthz']?.get?.security).toEqual([]);
    expect(paths['/v1/list-sends']?.post?.security).toBeUndefined();
    // /metrics: open, or the METRICS_TOKEN bearer when it is set.
    expect(paths['/metrics']?.get?.security).toEqual([{}, { metrics: [] }]);
  });
});
