import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createRedis, runScript } from '../src/redis.js';
import { testRedisUrl } from './helpers/redis.js';

describe("running the project's Lua scripts by SHA1", () => {
  const redis = createRedis(testRedisUrl(), 'worker');
  afterAll(() => redis.disconnect());

  it('sends the text once, when Redis does not know the script, and then only its SHA1', async () => {
    // A text no server has seen: the first EVALSHA must be answered NOSCRIPT.
    const script = `-- ${randomUUID()}\nreturn ARGV[1] .. ':' .. KEYS[1]`;
    const evals = vi.spyOn(redis, 'eval');
    const evalshas = vi.spyOn(redis, 'evalsha');
    try {
      expect(await runScript(redis, script, 1, 'k', 'first')).toBe('first:k');
      expect(await runScript(redis, script, 1, 'k', 'second')).toBe('second:k');
      expect(evalshas).toHaveBeenCalledTimes(2);
      expect(evals).toHaveBeenCalledTimes(1);
    } finally {
      evals.mockRestore();
      evalshas.mockRestore();
    }
  });

  it('passes on any failure other than NOSCRIPT without running the script again', async () => {
    const script = `-- ${randomUUID()}\nredis.call('INCR', KEYS[1])\nreturn redis.error_reply('STOP here')`;
    const key = `{t-script-${randomUUID().slice(0, 8)}}:counter`;
    try {
      await expect(runScript(redis, script, 1, key)).rejects.toThrow('STOP here');
      await expect(runScript(redis, script, 1, key)).rejects.toThrow('STOP here');
      // Once per call: the NOSCRIPT fallback ran it once, the second call by SHA1 once.
      expect(await redis.get(key)).toBe('2');
    } finally {
      await redis.del(key);
    }
  });
});
