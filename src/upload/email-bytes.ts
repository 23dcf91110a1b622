/**
 * The email check on the bytes of a field, for the common case (ASCII, nothing to trim): in one
 * pass over the bytes, the verdict of `isPlausibleEmail` in validate.ts and the hash64 of the
 * lowercased text, without decoding a string per row (issue #14). Whatever it does not accept,
 * the caller checks as text: this only ever says "plausible, and here is its hash".
 * test/upload/email-bytes.test.ts holds it to the regular expression and to hash64.
 */

// One table of byte classes (bit flags): the local part's characters in isPlausibleEmail's
// pattern (A-Z a-z 0-9 . ! # $ % & ' * + / = ? ^ _ ` { | } ~ -), and letters and digits, which
// begin and end a domain label. Bytes of 0x80 and up are in no class: non-ASCII goes to the text check.
const LOCAL = 1;
const ALNUM = 2;
const CLASS = new Uint8Array(256);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.!#$%&'*+/=?^_`{|}~-") CLASS[c.charCodeAt(0)] = LOCAL;
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789') CLASS[c.charCodeAt(0)] = LOCAL | ALNUM;
/** Each byte lowercased (ASCII letters only), so the hash needs no branch. */
const LOWER = new Uint8Array(256);
for (let c = 0; c < 256; c++) LOWER[c] = c >= 65 && c <= 90 ? c + 32 : c;

const AT = 64;
const DOT = 46;
const HYPHEN = 45;

/**
 * True when buf[start, end) is plausible as an ASCII email with nothing to trim; then `out` holds
 * hash64 (hash-set.ts) of its lowercased text, out[0] the high and out[1] the low word. False
 * means "check the text" (invalid, non-ASCII, or with spaces to trim), never "invalid".
 */
export function hashPlainEmail(buf: Uint8Array, start: number, end: number, out: Uint32Array): boolean {
  const n = end - start;
  if (n < 1 || n > 254) return false;
  // hash64's two FNV-style words, updated per lowercased byte (hash-set.ts has the same steps).
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ n;
  let i = start;
  for (; i < end; i++) {
    const c = buf[i] as number;
    if (((CLASS[c] as number) & LOCAL) === 0) break;
    const l = LOWER[c] as number;
    a = Math.imul(a ^ l, 0x01000193);
    b = Math.imul(b ^ l, 0x5bd1e995);
    b ^= b >>> 15;
  }
  if (i === start || i === end || buf[i] !== AT) return false;
  a = Math.imul(a ^ AT, 0x01000193);
  b = Math.imul(b ^ AT, 0x5bd1e995);
  b ^= b >>> 15;
  i += 1;
  // Two or more labels of 1-63 characters: letters and digits, hyphens inside.
  let labels = 0;
  for (;;) {
    const labelStart = i;
    if (i === end || ((CLASS[buf[i] as number] as number) & ALNUM) === 0) return false;
    for (; i < end; i++) {
      const c = buf[i] as number;
      if (c === DOT) break;
      if (((CLASS[c] as number) & ALNUM) === 0 && c !== HYPHEN) return false;
      const l = LOWER[c] as number;
      a = Math.imul(a ^ l, 0x01000193);
      b = Math.imul(b ^ l, 0x5bd1e995);
      b ^= b >>> 15;
    }
    if (i - labelStart > 63 || buf[i - 1] === HYPHEN) return false;
    labels += 1;
    if (i === end) break;
    a = Math.imul(a ^ DOT, 0x01000193);
    b = Math.imul(b ^ DOT, 0x5bd1e995);
    b ^= b >>> 15;
    i += 1;
  }
  if (labels < 2) return false;
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  b ^= b >>> 16;
  b = Math.imul(b, 0xc2b2ae35);
  b ^= b >>> 16;
  out[0] = a >>> 0;
  out[1] = b >>> 0;
  return true;
}
