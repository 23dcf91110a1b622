/**
 * The email check on the bytes of a field, for the common case (ASCII, nothing to trim): the
 * same verdict as `isPlausibleEmail` in validate.ts and the same hash as `hash64` of the
 * lowercased text, without decoding a string per row (issue #14). Anything else, the caller
 * checks as text. test/upload/email-bytes.test.ts holds both to the regular expression and hash64.
 */

export const NOT_SIMPLE = -1;

// The local part's characters in isPlausibleEmail's pattern: A-Z a-z 0-9 . ! # $ % & ' * + / = ? ^ _ ` { | } ~ -
const LOCAL = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.!#$%&'*+/=?^_`{|}~-") LOCAL[c.charCodeAt(0)] = 1;
const ALNUM = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789') ALNUM[c.charCodeAt(0)] = 1;

const AT = 64;
const DOT = 46;
const HYPHEN = 45;

/**
 * 1 when buf[start, end) is a plausible email, 0 when it is not, NOT_SIMPLE when it holds a
 * non-ASCII byte or begins or ends with a byte trim() would remove (check the text instead).
 */
export function asciiEmailVerdict(buf: Uint8Array, start: number, end: number): number {
  if (end <= start) return NOT_SIMPLE;
  if ((buf[start] as number) <= 32 || (buf[end - 1] as number) <= 32) return NOT_SIMPLE;
  let at = -1;
  for (let i = start; i < end; i++) {
    const c = buf[i] as number;
    if (c >= 0x80) return NOT_SIMPLE;
    if (c === AT && at === -1) at = i;
  }
  if (end - start > 254 || at <= start) return 0;
  for (let i = start; i < at; i++) if (LOCAL[buf[i] as number] !== 1) return 0;
  // Two or more labels of 1-63 characters: letters and digits, hyphens inside.
  let labels = 0;
  let labelStart = at + 1;
  for (let i = at + 1; i <= end; i++) {
    const c = i === end ? DOT : (buf[i] as number);
    if (c === DOT) {
      const n = i - labelStart;
      if (n < 1 || n > 63 || ALNUM[buf[labelStart] as number] !== 1 || ALNUM[buf[i - 1] as number] !== 1) return 0;
      labels += 1;
      labelStart = i + 1;
    } else if (ALNUM[c] !== 1 && c !== HYPHEN) {
      return 0;
    }
  }
  return labels >= 2 ? 1 : 0;
}

/** hash64 (hash-set.ts) of the lowercased ASCII text in buf[start, end), into out[0] (high) and out[1] (low). */
export function hashLowerAscii(buf: Uint8Array, start: number, end: number, out: Uint32Array): void {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ (end - start);
  for (let i = start; i < end; i++) {
    let c = buf[i] as number;
    if (c >= 65 && c <= 90) c += 32;
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  b ^= b >>> 16;
  b = Math.imul(b, 0xc2b2ae35);
  b ^= b >>> 16;
  out[0] = a >>> 0;
  out[1] = b >>> 0;
}
