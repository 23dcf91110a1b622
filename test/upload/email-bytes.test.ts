import { describe, expect, it } from 'vitest';
import { hashPlainEmail } from '../../src/upload/email-bytes.js';
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
  it('accepts exactly the plausible emails with nothing to trim, and hashes them as hash64 of the lowercased text, on 20,000 random candidates', () => {
    const rng = seededRandom(7);
    const out = new Uint32Array(2);
    let valid = 0;
    let handedBack = 0;
    for (let i = 0; i < 20_000; i++) {
      const text = candidate(rng);
      const bytes = Buffer.from(`;${text};`);
      const accepted = hashPlainEmail(bytes, 1, bytes.length - 1, out);
      if (!accepted) {
        // Handed back to the text check: it must find the text invalid, or the text must be one
        // the byte check may not judge (non-ASCII, or something to trim).
        const edge = (c: number) => c <= 32;
        const notPlain = [...text].some((ch) => ch.charCodeAt(0) > 0x7f) || edge(text.charCodeAt(0)) || edge(text.charCodeAt(text.length - 1));
        if (isPlausibleEmail(text)) handedBack += 1;
        expect(!isPlausibleEmail(text) || notPlain, JSON.stringify(text)).toBe(true);
        continue;
      }
      expect(isPlausibleEmail(text), JSON.stringify(text)).toBe(true);
      expect([out[0], out[1]], JSON.stringify(text)).toEqual(hash64(text.toLowerCase()));
      valid += 1;
    }
    expect(valid).toBeGreaterThan(1_000);
    expect(handedBack).toBeLessThan(1_000);
  });

  it('hashes as hash64 of the lowercased text', () => {
    const out = new Uint32Array(2);
    for (const text of ['ann@example.com', 'ANN@Example.COM', 'a@b.co', "o'brien+tag@mail.example.co.uk", `${'x'.repeat(63)}@${'y'.repeat(63)}.com`]) {
      const bytes = Buffer.from(text);
      expect(hashPlainEmail(bytes, 0, bytes.length, out), text).toBe(true);
      expect([out[0], out[1]]).toEqual(hash64(text.toLowerCase()));
    }
  });

  it('gives 300,000 emails that differ in a character or two 300,000 different hashes, and each half alone spreads them', () => {
    const out = new Uint32Array(2);
    const whole = new Set<string>();
    const lowBuckets = new Uint32Array(1024);
    for (let i = 0; i < 300_000; i++) {
      const bytes = Buffer.from(`user.${i}@example${i % 7}.com`);
      expect(hashPlainEmail(bytes, 0, bytes.length, out)).toBe(true);
      whole.add(`${out[0]}:${out[1]}`);
      lowBuckets[(out[1] as number) & 1023]! += 1;
    }
    expect(whole.size).toBe(300_000);
    // About 293 per bucket; a half that ignored some characters would pile values into few buckets.
    expect(Math.max(...lowBuckets)).toBeLessThan(400);
    expect(Math.min(...lowBuckets)).toBeGreaterThan(200);
  });

  it('hands back what it may not judge: empty, too long, non-ASCII, spaces to trim', () => {
    const out = new Uint32Array(2);
    for (const text of ['', ' ann@example.com', 'ann@example.com\t', 'zoë@example.com', `${'x'.repeat(250)}@ex.com`, 'a@b', 'a@-b.com', 'a@b-.com', 'a@b..com', 'a@@b.com']) {
      const bytes = Buffer.from(text);
      expect(hashPlainEmail(bytes, 0, bytes.length, out), JSON.stringify(text)).toBe(false);
    }
  });
});
