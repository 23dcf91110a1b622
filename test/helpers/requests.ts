import type { ListSendRequestInput } from '../../src/request.js';

/** Fast timings: imports finish in a few hundred ms and polls start at 30 ms. */
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
    poll: { initialDelayMs: 30, maxDelayMs: 120, timeoutMs: 20_000 },
    ...overrides,
  };
}
