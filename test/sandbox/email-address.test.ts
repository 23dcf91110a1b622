import { describe, expect, it } from 'vitest';
import { sfmcAcceptsEmail } from '../../src/sandbox/email-address.js';

// The examples of help.salesforce.com/s/articleView?id=005226498 (import-time validation).
describe("the sandbox's email rule for imported rows", () => {
  it.each(['abcd@@example.com', 'abcd@example.c', 'abcd@example', 'あいうえお@example.com', 'abcd@ example.com', 'abcd @example.com', 'abcdexample.com'])(
    'refuses %s, as SFMC flags it invalid',
    (address) => expect(sfmcAcceptsEmail(address)).toBe(false),
  );

  it.each(['abcd.@example.com', 'ab....cd@example.com', 'first.last+tag@sub.example.co'])('accepts %s, as SFMC does', (address) =>
    expect(sfmcAcceptsEmail(address)).toBe(true),
  );

  it('refuses a local part over 100 characters and an address over 254', () => {
    expect(sfmcAcceptsEmail(`${'a'.repeat(100)}@example.com`)).toBe(true);
    expect(sfmcAcceptsEmail(`${'a'.repeat(101)}@example.com`)).toBe(false);
    expect(sfmcAcceptsEmail(`a@${'b'.repeat(249)}.com`)).toBe(false);
  });

  it('refuses an empty address, an empty local part and an empty domain label', () => {
    for (const address of ['', '@example.com', 'a@.example.com', 'a@example..com']) expect(sfmcAcceptsEmail(address)).toBe(false);
  });
});
