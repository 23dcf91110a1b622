import type { RunStatus } from '../client.js';
import type { Config } from '../config.js';
import { producerFor, reportProducerError } from './commands.js';
import { EXIT } from './io.js';
import { followRun } from './progress.js';

/** Exit 0 for a completed run, 1 for a failed or cancelled one. */
export function exitCodeOf(status: RunStatus): number {
  return status.state === 'completed' ? EXIT.ok : EXIT.runFailed;
}

/** `list-send watch <runId>`: the step lines on stdout until the run ends; the reason on stderr if it failed. */
export async function watchCommand(config: Config, runId: string): Promise<number> {
  const producer = producerFor(config);
  try {
    if (!(await producer.status(runId))) {
      console.error(`no run with runId ${runId}`);
      return EXIT.badInput;
    }
    console.log(`run ${runId}`);
    const status = await followRun(producer, runId, process.stdout);
    console.log(`run ${runId} ${status.state}`);
    if (status.state === 'failed') console.error(`run ${runId} failed: ${status.error ?? 'unknown reason'}`);
    return exitCodeOf(status);
  } catch (err) {
    return reportProducerError(err);
  } finally {
    await producer.close();
  }
}
