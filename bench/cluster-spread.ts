import { Redis } from 'ioredis';
import { ListSendClient } from '../src/client.js';
import { startPrivateRedisCluster, type PrivateRedisCluster } from '../src/dev/redis-cluster.js';
import { createRedisConnection } from '../src/redis.js';
import { createSandbox } from '../src/sandbox/index.js';
import { budgetAccountOf, RedisCallBudget } from '../src/sfmc/budget.js';
import { createSfmcClient } from '../src/sfmc/client.js';
import { sharedTokenStore } from '../src/sfmc/token-store-redis.js';
import { startWorkers } from '../src/worker/start.js';
import { benchLogger, benchRequest, fixed, inParallel, sandboxSfmcConfig, type BenchContext, type ItemResult, type TargetResult } from './common.js';

/**
 * Item 6 (issue #14, "Redis Cluster that spreads the load"): runs on a three-master Redis Cluster
 * started for the item, with QUEUE_SHARDS=12 and, for contrast, 1; then the keys each master holds.
 * One process holds the sandbox, the workers and the producer, as `list-send worker` and `serve`
 * would on one machine; each variant gets a fresh cluster, so its keys are its own.
 */

const PREFIX = '{list-send}';
const SHARD_COUNTS = [12, 1] as const;
const CONCURRENCY = 10;
const STEPS = { attempts: 5, backoffMs: 200 };
const ZERO_POLL = { initialDelayMs: 0, maxDelayMs: 1 };

interface Spread {
  shards: number;
  keysPerMaster: number[];
  runsPerSecond: number;
}

/** Keys on each master: DBSIZE answers for the node's own slots. */
async function keysPerMaster(cluster: PrivateRedisCluster): Promise<number[]> {
  return Promise.all(
    cluster.ports.map(async (port) => {
      const node = new Redis(port, '127.0.0.1');
      try {
        return await node.dbsize();
      } finally {
        node.disconnect();
      }
    }),
  );
}

async function runOnCluster(cluster: PrivateRedisCluster, shards: number, runs: number): Promise<Spread> {
  const sandbox = await createSandbox({ import: { registerDelayMs: 0, durationMs: 0 } });
  const target = { url: 'redis://127.0.0.1:1', clusterNodes: cluster.nodes };
  const connection = createRedisConnection(target, 'worker');
  const config = sandboxSfmcConfig(sandbox);
  // The account-wide keys as in production (under QUEUE_PREFIX itself): the budget, raised so it never holds a call back, and the token.
  const budget = new RedisCallBudget({ redis: connection, prefix: PREFIX, account: budgetAccountOf(config), limit: 1e9 });
  const tokenStore = sharedTokenStore(config.auth, connection, PREFIX);
  const sfmc = createSfmcClient({ config, budget, ...(tokenStore ? { tokenStore } : {}) });
  const pool = await startWorkers({ connection, prefix: PREFIX, shards, sfmc, logger: benchLogger(), concurrency: CONCURRENCY, budget });
  const producer = new ListSendClient({ redisUrl: target.url, clusterNodes: cluster.nodes, prefix: PREFIX, shards, steps: STEPS, pollFloorMs: 0 });
  try {
    let sent = 0;
    const allSent = new Promise<void>((resolve, reject) => {
      for (const workers of pool.byShard) {
        workers.send.on('completed', () => {
          if (++sent === runs) resolve();
        });
        for (const worker of Object.values(workers)) {
          worker.on('failed', (job, err) => {
            if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) reject(new Error(`${job.id}: ${err.message}`));
          });
        }
      }
    });
    const started = performance.now();
    await inParallel(
      Array.from({ length: runs }, (_, i) => i),
      16,
      async (i) => void (await producer.enqueue(benchRequest(`spread-${i}`, ZERO_POLL))),
    );
    await allSent;
    const runsPerSecond = runs / ((performance.now() - started) / 1000);
    return { shards, keysPerMaster: await keysPerMaster(cluster), runsPerSecond };
  } finally {
    await producer.close();
    await pool.close();
    await sfmc.close();
    connection.disconnect();
    await sandbox.close();
  }
}

const ratioOf = (keys: number[]) => Math.max(...keys) / Math.min(...keys);
const ratioText = (keys: number[]) => (Math.min(...keys) === 0 ? '∞ (a master holds none)' : fixed(ratioOf(keys), 2));

export async function clusterSpread(ctx: BenchContext): Promise<ItemResult> {
  const runs = ctx.quick ? 60 : 1_000;
  const spreads: Spread[] = [];
  for (const shards of SHARD_COUNTS) {
    ctx.say(`bench: cluster spread, ${runs} runs, QUEUE_SHARDS=${shards}`);
    const cluster = await startPrivateRedisCluster(3);
    try {
      spreads.push(await runOnCluster(cluster, shards, runs));
    } finally {
      await cluster.stop();
    }
  }
  const [sharded, single] = spreads as [Spread, Spread];
  const targets: TargetResult[] = [
    {
      name: `Keys per master, QUEUE_SHARDS=12, ${runs} runs on 3 masters`,
      target: 'max ÷ min <= 2',
      value: `${sharded.keysPerMaster.join(' / ')} (max ÷ min ${ratioText(sharded.keysPerMaster)})`,
      met: Math.min(...sharded.keysPerMaster) > 0 && ratioOf(sharded.keysPerMaster) <= 2,
      ...(Math.min(...sharded.keysPerMaster) > 0 && ratioOf(sharded.keysPerMaster) <= 2
        ? {}
        : { why: 'the shards\' hash tags or the runs do not fall evenly on the masters' }),
    },
    {
      name: `Keys per master, QUEUE_SHARDS=1 (contrast), ${runs} runs on 3 masters`,
      target: 'report',
      value: `${single.keysPerMaster.join(' / ')} (max ÷ min ${ratioText(single.keysPerMaster)})`,
      met: 'info',
      why: 'one hash tag: every key of the service in one slot, on one master',
    },
  ];
  return {
    id: 6,
    title: 'Redis Cluster spread (QUEUE_SHARDS)',
    setup: [
      `A three-master Redis Cluster (redis-server, no replicas, no persistence) started on loopback for each variant; prefix \`${PREFIX}\`.`,
      `${runs} runs (the seed workflow, imports done at once, polls at once) enqueued 16 at a time; one process holds the sandbox, the workers (concurrency ${CONCURRENCY} per queue per shard) and the producer.`,
      'Keys counted with DBSIZE on each master once every run has made its Send (completed jobs kept, as in production, for the retention period).',
    ],
    tables: [
      {
        caption: 'Keys per master after every run made its Send',
        head: ['QUEUE_SHARDS', 'master 1 (slots 0-5460)', 'master 2 (5461-10922)', 'master 3 (10923-16383)', 'max ÷ min', 'runs/s'],
        rows: spreads.map((s) => [s.shards, ...s.keysPerMaster, ratioText(s.keysPerMaster), fixed(s.runsPerSecond, 0)]),
      },
    ],
    targets,
    notes: [
      'With 12 shards each shard\'s tag is chosen with its slot in its own twelfth of the slot space (src/shards.ts), and `redis-cli --cluster create` splits the slots evenly, so each master holds 4 shards (by name alone, `list-send:0` ... `list-send:11` would fall 5, 3 and 4); the runs then split by the SHA-256 of their runIds (src/shards.ts). The account-wide keys (token, call budget) stay on the master of `{list-send}`.',
      `Blocking connections: one Worker per queue per shard, so 7 × 12 = 84 Workers in the worker process with 12 shards against 7 with one, each with a blocking connection to every master of the cluster.`,
      'runs/s is a by-product (one process, 2 shared cores), not a target: the cluster spreads memory and commands across masters; it does not make one process faster.',
    ],
  };
}
