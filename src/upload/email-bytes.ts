import { finishA, finishB, mixA, mixB, seedA, seedB } from './hash-set.js';

/**
 * The email check on the bytes of a field, for the common case (ASCII, nothing to trim): the
 * verdict of `isPlausibleEmail` in validate.ts and the hash64 of the lowercased text, without
 * decoding a string per row (issue #14). Whatever it does not accept, the caller checks as text:
 * this only ever says "plausible, and here is its hash". test/upload/email-bytes.test.ts holds it
 * to the regular expression and to hash64.
 */

// One table for each byte: its lowercased value (ASCII letters only) in the low 8 bits, and bit
// flags above: LOCAL for the local part's characters in isPlausibleEmail's pattern
// (A-Z a-z 0-9 . ! # $ % & ' * + / = ? ^ _ ` { | } ~ -), ALNUM for letters and digits, which begin
// and end a domain label. Bytes of 0x80 and up are in no class: non-ASCII goes to the text check.
const LOCAL = 0x100;
const ALNUM = 0x200;
const BYTE = new Uint16Array(256);
for (let c = 0; c < 256; c++) BYTE[c] = c >= 65 && c <= 90 ? c + 32 : c;
const addClass = (chars: string, flag: number) => {
  for (let k = 0; k < chars.length; k++) BYTE[chars.charCodeAt(k)] = (BYTE[chars.charCodeAt(k)] as number) | flag;
};
addClass("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.!#$%&'*+/=?^_`{|}~-", LOCAL);
addClass('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', ALNUM);

const AT = 64;
const DOT = 46;
const HYPHEN = 45;

/**
 * True when buf[start, end) is plausible as an ASCII email with nothing to trim; then `out` holds
 * hash64 (hash-set.ts) of its lowercased text, out[0] the high and out[1] the low word. False
 * means "check the text" (invalid, non-ASCII, or with spaces to trim), never "invalid".
 *
 * hash64 mixes the text four characters at a time, so the local part is checked four bytes at a
 * time too, in the same loop: one table read per byte gives its lowercased value and its class,
 * and the word is mixed in when all four are local-part characters. The word holding the '@' ends
 * that loop; the domain, the short part, is checked byte by byte and the rest hashed by words.
 */
export function hashPlainEmail(buf: Uint8Array, start: number, end: number, out: Uint32Array): boolean {
  const n = end - start;
  if (n < 1 || n > 254) return false;
  let a = seedA(n);
  let b = seedB(n);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const t0 = BYTE[buf[i] as number] as number;
    const t1 = BYTE[buf[i + 1] as number] as number;
    const t2 = BYTE[buf[i + 2] as number] as number;
    const t3 = BYTE[buf[i + 3] as number] as number;
    if ((t0 & t1 & t2 & t3 & LOCAL) === 0) break;
    const w = ((t0 & 0xff) << 24) | ((t1 & 0xff) << 16) | ((t2 & 0xff) << 8) | (t3 & 0xff);
    a = mixA(a, w);
    b = mixB(b, w);
  }
  // The rest of the local part, then the '@' (an email never ends in its local part).
  let at = i;
  while (at < end && ((BYTE[buf[at] as number] as number) & LOCAL) !== 0) at++;
  if (at === start || at === end || buf[at] !== AT || !isPlainDomain(buf, at + 1, end)) return false;
  // Hashed from the word that stopped the loop on, as hash64 takes it.
  for (; i + 4 <= end; i += 4) {
    const w = (lowered(buf, i) << 24) | (lowered(buf, i + 1) << 16) | (lowered(buf, i + 2) << 8) | lowered(buf, i + 3);
    a = mixA(a, w);
    b = mixB(b, w);
  }
  if (i < end) {
    let w = 0;
    for (; i < end; i++) w = (w << 8) | lowered(buf, i);
    a = mixA(a, w);
    b = mixB(b, w);
  }
  out[0] = finishA(a);
  out[1] = finishB(b);
  return true;
}

function lowered(buf: Uint8Array, i: number): number {
  return (BYTE[buf[i] as number] as number) & 0xff;
}

/** Two or more labels of 1-63 characters: letters and digits, hyphens inside. */
function isPlainDomain(buf: Uint8Array, i: number, end: number): boolean {
  let labels = 0;
  for (;;) {
    const labelStart = i;
    if (i === end || ((BYTE[buf[i] as number] as number) & ALNUM) === 0) return false;
    for (; i < end; i++) {
      const c = buf[i] as number;
      if (c === DOT) break;
      if (((BYTE[c] as number) & ALNUM) === 0 && c !== HYPHEN) return false;
    }
    if (i - labelStart > 63 || buf[i - 1] === HYPHEN) return false;
    labels += 1;
    if (i === end) return labels >= 2;
    i += 1;
  }
}
