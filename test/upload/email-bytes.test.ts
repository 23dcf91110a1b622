import { describe, expect, it } from 'vitest';
import { asciiEmailVerdict, hashLowerAscii, NOT_SIMPLE } from '../../src/upload/email-bytes.js';
import { hash64 } from '../../src/upload/hash-set.js';
import { isPlausibleEmail } from '../../src/upload/validate.js';
import { seededRandom } from '../helpers/random.js';

/** The byte-level email check (issue #14) against the text check it stands in for: the pattern and hash64. */


const PIECES = ['a', 'Z', '0', '9', '.', '..', '@', '-', '_', '+', "'", '"', ' ', '\t', '(', 'é', 'ex', 'example', 'COM', 'co', 'x'.repeat(62), 'y'.repeat(64), '!#$%&*/=?^`{|}~', '\u0000', ','];

const GOOD = ['a', 'Z', '0', 'ex', 'example', 'COM', 'co', '-', 'x'.repeat(62)];

function candidate(rng: () => number): string {
  if (rng() < 0.5) {
    const piece = () => (rng() < 0.8 ? GOOD : PIECES)[Math.floor(rng() * (rng() < 0.8 ? GOOD : PIECES).length)] ?? 'a';
    const label = () => Array.from({ length: 1 + Math.floor(rng() * 3) }, piece).join('');
    return `${label()}@${label()}.${label()}${rng() < 0.3 ? `.${label()}` : ''}`;
  }
  return Array.from({ length: Math.floor(rng() * 8) }, () => PIECES[Math.floor(rng() * PIECES.length)]).join('');
}

describe('checking an email on its bytes', () => {
  it('gives the pattern\'s verdict, or hands the text back, on 20,000 random candidates', () => {
    const rng = seededRandom(7);
    let valid = 0;
    let handedBack = 0;
    for (let i = 0; i < 20_000; i++) {
      const text = candidate(rng);
      const bytes = Buffer.from(`;${text};`);
      const verdict = asciiEmailVerdict(bytes, 1, bytes.length - 1);
      if (verdict === NOT_SIMPLE) {
        handedBack += 1;
        // Only what the byte check may not judge: empty, non-ASCII, or something to trim.
        const edge = (c: number) => c <= 32;
        const handBack = text === '' || [...text].some((ch) => ch.charCodeAt(0) > 0x7f) || edge(text.charCodeAt(0)) || edge(text.charCodeAt(text.length - 1));
        expect(handBack, JSON.stringify(text)).toBe(true);
        continue;
      }
      expect(verdict === 1, JSON.stringify(text)).toBe(isPlausibleEmail(text));
      if (verdict === 1) valid += 1;
    }
    expect(valid).toBeGreaterThan(1_000);
    expect(handedBack).toBeLessThan(15_000);
  });

  it('hashes as hash64 of the lowercased text', () => {
    const out = new Uint32Array(2);
    for (const text of ['ann@example.com', 'ANN@Example.COM', 'a@b.co', '', 'x'.repeat(300)]) {
      const bytes = Buffer.from(text);
      hashLowerAscii(bytes, 0, bytes.length, out);
      expect([out[0], out[1]]).toEqual(hash64(text.toLowerCase()));
    }
  });
});
