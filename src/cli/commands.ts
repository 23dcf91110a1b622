import type { Logger } from 'pino';
import { ListSendClient, RedisUnavailableError, RunConflictError } from '../client.js';
import { accountNamesOf, type Config } from '../config.js';
import { RequestValidationError } from '../request.js';
import { createMetrics, serveMetrics } from '../metrics.js';
import { startConfiguredWorkers } from '../worker/from-config.js';
import { EXIT, readJsonInput } from './io.js';
import { followRun } from './progress.js';

export function producerFor(config: Config): ListSendClient {
  return new ListSendClient({
    redisUrl: config.redisUrl,
    ...(config.redisClusterNodes ? { clusterNodes: config.redisClusterNodes } : {}),
    prefix: config.queuePrefix,
    shards: config.queueShards,
    steps: config.steps,
    upload: { dir: config.upload.dir },
    accounts: accountNamesOf(config),
  });
}

/** `list-send worker`: every step's worker until SIGTERM or SIGINT. */
export async function workerCommand(config: Config, logger: Logger, options: { concurrency: number }): Promise<void> {
  const metrics = createMetrics(undefined, { accounts: accountNamesOf(config) });
  const workers = await startConfiguredWorkers(config, logger, { concurrency: options.concurrency, metrics });
  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : await serveMetrics(metrics.registry, {
          port: config.metricsPort,
          host: config.api.host,
          ...(config.api.metricsToken ? { token: config.api.metricsToken } : {}),
        });
  logger.info({ prefix: config.queuePrefix, shards: config.queueShards, concurrency: options.concurrency, metricsPort: metricsServer?.port }, 'workers started');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      // A second signal: stop now; active jobs stall and another worker picks them up.
      logger.warn({ signal }, 'forced stop');
      await workers.pool.close(true);
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'stopping: no new jobs; waiting for active ones');
    await workers.close();
    await metricsServer?.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

export async function enqueueCommand(config: Config, source: string, options: { wait: boolean }): Promise<number> {
  const producer = producerFor(config);
  try {
    const { runId, created } = await producer.enqueue(await readJsonInput(source));
    if (!options.wait) {
      console.log(runId);
      return EXIT.ok;
    }
    console.error(`run ${runId} ${created ? 'enqueued' : 'already exists; waiting for it'}`);
    const status = await followRun(producer, runId, process.stderr);
    console.log(JSON.stringify(status, null, 2));
    if (status.state === 'completed') return EXIT.ok;
    console.error(`run ${runId} failed: ${status.error ?? 'unknown reason'}`);
    return EXIT.runFailed;
  } catch (err) {
    return reportProducerError(err);
  } finally {
    await producer.close();
  }
}

export async function statusCommand(config: Config, runId: string): Promise<number> {
  const producer = producerFor(config);
  try {
    const status = await producer.status(runId);
    if (!status) {
      console.error(`no run with runId ${runId}`);
      return EXIT.badInput;
    }
    console.log(JSON.stringify(status, null, 2));
    return status.state === 'failed' ? EXIT.runFailed : EXIT.ok;
  } catch (err) {
    return reportProducerError(err);
  } finally {
    await producer.close();
  }
}

export function reportProducerError(err: unknown): number {
  if (err instanceof RequestValidationError) {
    console.error('invalid request:');
    for (const p of err.problems) console.error(`  ${p.path || '(request)'}: ${p.message}`);
    return EXIT.badInput;
  }
  if (err instanceof RunConflictError) {
    console.error(err.message);
    return EXIT.badInput;
  }
  if (err instanceof RedisUnavailableError) {
    console.error(err.message);
    return EXIT.unavailable;
  }
  console.error((err as Error).message ?? String(err));
  return EXIT.badInput;
}
