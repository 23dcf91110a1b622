import { parseListSendRequest, RequestValidationError, type FieldProblem, type ListSendRequestInput } from '../../src/request.js';

/**
 * Imports in the sandbox finish in a few hundred ms; the first poll comes at the least delay a
 * request may ask for (POLL_FLOOR_MS), so the request is valid for every producer, API and CLI too.
 */
export function seedRequest(overrides: Partial<ListSendRequestInput> = {}): ListSendRequestInput {
  return {
    list: { name: 'Sample_List' },
    email: { id: 123 },
    import: {
      fileSpec: 'SAP_List.csv',
      fieldMaps: [
        { sourceOrdinal: 0, destinationName: 'ID' },
        { sourceOrdinal: 4, destinationName: 'Email Address' },
      ],
      notification: { responseType: 'email', responseAddress: 'help@example.com' },
    },
    poll: { initialDelayMs: 1_000, maxDelayMs: 2_000, timeoutMs: 20_000 },
    // Most tests are about what happens up to the Send; following the Send adds at least three
    // paced checks, so only the tests about track-send ask for it (test/pipeline/track-send.test.ts).
    track: false,
    ...overrides,
  };
}

/** The problems parseListSendRequest reports for an input (none: an empty list). */
export function requestProblems(input: unknown): FieldProblem[] {
  try {
    parseListSendRequest(input);
  } catch (err) {
    if (err instanceof RequestValidationError) return err.problems;
    throw err;
  }
  return [];
}
