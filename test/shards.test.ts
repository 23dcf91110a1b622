import { describe, expect, it } from 'vitest';
import clusterKeySlot from 'cluster-key-slot';
import { hasHashTag, shardOf, shardPrefixes } from '../src/shards.js';

describe("a run's shard", () => {
  it('is the first four bytes of the SHA-256 of its runId modulo the count, and never changes between releases', () => {
    // Frozen values: status lookups recompute the shard, so these must hold forever.
    expect(['run-1', 'run-2', 'nightly-2024-05-01', 'é-run'].map((id) => shardOf(id, 12))).toEqual([11, 6, 0, 9]);
    // Checked outside Node: printf '%s' run-1 | sha256sum, first 8 hex digits, modulo 1000.
    expect(shardOf('run-1', 1000)).toBe(251);
    expect(shardOf('anything', 1)).toBe(0);
  });

  it('spreads sequential runIds evenly over the shards', () => {
    const counts = new Array<number>(12).fill(0);
    for (let i = 0; i < 12_000; i++) counts[shardOf(`nightly-${i}`, 12)]! += 1;
    // 1,000 expected per shard; a binomial's standard deviation here is about 30.
    expect(Math.min(...counts)).toBeGreaterThan(880);
    expect(Math.max(...counts)).toBeLessThan(1_120);
  });
});

describe("a shard's queue prefix", () => {
  it('makes the hash tag the shard\'s own, with its slot in the shard\'s band of the 16,384 slots', () => {
    // Frozen values: a shard's keys live under these names, so they must hold between releases.
    expect(shardPrefixes('{list-send}', 3)).toEqual(['{list-send:0.3}', '{list-send:1.2}', '{list-send:2}']);
    expect(shardPrefixes('app{ls}x', 12)[5]).toMatch(/^app\{ls:5(\.\d+)?\}x$/);
    for (const count of [2, 3, 5, 12, 256]) {
      shardPrefixes('{list-send}', count).forEach((prefix, i) => {
        const slot = clusterKeySlot(prefix);
        expect(slot).toBeGreaterThanOrEqual(Math.floor((i * 16_384) / count));
        expect(slot).toBeLessThan(Math.floor(((i + 1) * 16_384) / count));
      });
    }
  });

  it('spreads 12 shards 4 / 4 / 4 over the slot ranges redis-cli gives three masters', () => {
    const masters = [0, 0, 0];
    for (const prefix of shardPrefixes('{list-send}', 12)) {
      const slot = clusterKeySlot(prefix);
      masters[slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2]! += 1;
    }
    expect(masters).toEqual([4, 4, 4]);
  });

  it('is QUEUE_PREFIX itself with one shard, so existing keys stay where they are', () => {
    expect(shardPrefixes('{list-send}', 1)).toEqual(['{list-send}']);
    expect(shardPrefixes('no-tag', 1)).toEqual(['no-tag']);
  });

  it('follows Redis: the tag is between the first { and the first } after it, and an empty one is none', () => {
    expect(hasHashTag('{a}')).toBe(true);
    expect(hasHashTag('a}{b}')).toBe(true);
    expect(shardPrefixes('a}{b}', 2)[1]).toMatch(/^a\}\{b:1(\.\d+)?\}$/);
    expect(hasHashTag('{}x')).toBe(false);
    expect(hasHashTag('plain')).toBe(false);
    expect(() => shardPrefixes('plain', 2)).toThrow(/no \{hash tag\}/);
  });
});
