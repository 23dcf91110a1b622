import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpError } from '../../src/api/http-errors.js';
import { API_ERROR_CODES, apiError, errorSchema } from '../../src/api/schemas.js';
import { startApi, type ApiHarness } from './harness.js';

/**
 * The API's error codes are one typed list: every reply body is built by apiError, so the codes
 * the routes answer with and the ones the OpenAPI document publishes cannot drift apart.
 */
describe('API error codes', () => {
  it('builds bodies the published error schema accepts, leaving out what was not given', () => {
    expect(apiError('not-found')).toEqual({ error: 'not-found' });
    const body = apiError('invalid-request', 'bad', [{ path: 'list', message: 'required' }]);
    expect(errorSchema.parse(body)).toEqual(body);
  });

  it('refuses, at compile time, a code not in API_ERROR_CODES', () => {
    // The directives fail typecheck (npm run typecheck) the day these calls compile.
    // @ts-expect-error 'gone' is not an ApiErrorCode
    expect(() => errorSchema.parse(apiError('gone'))).toThrow();
    // @ts-expect-error an HttpError body needs a known code
    expect(new HttpError(410, { error: 'gone' }).statusCode).toBe(410);
  });

  describe('in the OpenAPI document', () => {
    let api: ApiHarness;
    beforeAll(() => {
      api = startApi({ label: 'api-error-codes' });
    });
    afterAll(async () => {
      await api?.close();
    });

    it('lists exactly API_ERROR_CODES, and an answered code is one of them', async () => {
      const doc = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
        components: { schemas: { Error: { properties: { error: { enum: string[] } } } } };
      };
      expect(doc.components.schemas.Error.properties.error.enum).toEqual([...API_ERROR_CODES]);
      const missing = await api.app.inject({ method: 'GET', url: '/no-such-route' });
      expect(missing.statusCode).toBe(404);
      expect(API_ERROR_CODES).toContain(missing.json<{ error: string }>().error);
    });
  });
});
