import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { configProblems } from './helpers/config.js';

describe('QUEUE_SHARDS in the configuration', () => {
  it('is 1 by default, so a deployment that never set it keeps its one prefix', () => {
    expect(loadConfig({}).queueShards).toBe(1);
    expect(loadConfig({ QUEUE_SHARDS: '12' }).queueShards).toBe(12);
  });

  it('refuses a count that is not a whole number from 1 to 256, naming the variable', () => {
    for (const bad of ['0', '-2', '1.5', 'many', '257']) expect(configProblems({ QUEUE_SHARDS: bad })[0]).toMatch(/^QUEUE_SHARDS: /);
  });

  it('needs a {hash tag} in QUEUE_PREFIX to shard, but not with one shard', () => {
    expect(configProblems({ QUEUE_PREFIX: 'list-send', QUEUE_SHARDS: '4' })).toEqual([
      'QUEUE_PREFIX: must hold a {hash tag} (such as {list-send}) when QUEUE_SHARDS is more than 1',
    ]);
    expect(configProblems({ QUEUE_PREFIX: 'list-send{}', QUEUE_SHARDS: '4' })[0]).toMatch(/^QUEUE_PREFIX: must hold a \{hash tag\}/);
    expect(configProblems({ QUEUE_PREFIX: 'list-send' })).toEqual([]);
    expect(configProblems({ QUEUE_PREFIX: 'app{ls}', QUEUE_SHARDS: '4' })).toEqual([]);
  });
});
