import { Redis } from 'ioredis';
import { AutomationClient } from '../../src/automation/client.js';
import type { SftpConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { SftpUploader } from '../../src/upload/sftp.js';
import { startAutomationWorkers, type AutomationWorkers } from '../../src/worker/automation.js';
import type { Pipeline } from '../helpers/pipeline.js';
import { testRedisUrl } from '../helpers/redis.js';

/**
 * Schedules and triggers beside a test pipeline: the admin client and any number of automation
 * worker pools on the pipeline's prefix, each with its own Redis connection, as separate worker
 * processes would have.
 */
export interface AutomationHarness {
  admin: AutomationClient;
  startPool(options?: { uploadDir?: string; onSkip?: (schedule: string) => void }): Promise<AutomationWorkers>;
  runsOf(name: string): Promise<string[]>;
  close(): Promise<void>;
}

export function automationHarness(p: Pipeline): AutomationHarness {
  const adminConnection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  const admin = new AutomationClient(adminConnection, p.prefix);
  const pools: { workers: AutomationWorkers; connection: Redis }[] = [];
  const logger = createLogger({ level: 'error' });
  return {
    admin,
    async startPool(options = {}) {
      const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
      const { sftp, credentials } = p.sandbox;
      const config: SftpConfig = {
        host: sftp.host,
        hostDerived: false,
        port: sftp.port,
        username: credentials.username,
        auth: { password: credentials.password },
        hostFingerprint: sftp.fingerprint,
        dir: '/Import',
        maxConnections: 2,
      };
      const uploader = new SftpUploader(config, logger);
      const workers = await startAutomationWorkers({ connection, prefix: p.prefix, client: p.producer, uploaders: { default: uploader }, logger, ...(options.uploadDir ? { uploadDir: options.uploadDir } : {}), ...(options.onSkip ? { onSkip: options.onSkip } : {}) });
      const entry = { workers, connection };
      pools.push(entry);
      const close = workers.close;
      workers.close = async (force?: boolean) => {
        await close(force);
        connection.disconnect();
        pools.splice(pools.indexOf(entry), 1);
      };
      return workers;
    },
    async runsOf(name) {
      return (await p.producer.recentRunIds(1_000)).filter((id) => id.startsWith(`${name}-`)).sort();
    },
    async close() {
      for (const { workers } of [...pools]) await workers.close();
      await admin.close();
      adminConnection.disconnect();
    },
  };
}
