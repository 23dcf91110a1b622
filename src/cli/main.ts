import { Command, InvalidArgumentError } from 'commander';
import type { RunState } from '../client.js';
import { ConfigError, loadConfig } from '../config.js';
import { QueueLayoutError } from '../queue-layout.js';
import { createLogger } from '../logger.js';
import { enqueueCommand, statusCommand, workerCommand } from './commands.js';
import { automationStatus, registerAutomationCommands } from './automation.js';
import { EXIT } from './io.js';
import { runsCommand } from './runs.js';
import { watchCommand } from './watch.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number >= 1');
  return n;
}

function whole(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number >= 0');
  return n;
}

function duplicateKeyCode(value: string): 43030 | 1 {
  if (value === '43030' || value === '1') return Number(value) as 43030 | 1;
  throw new InvalidArgumentError('must be 43030 or 1');
}

interface SandboxFlags {
  port: number;
  host: string;
  sftpPort?: number;
  dataDir?: string;
  seed?: string;
  importRegisterDelayMs?: number;
  importDurationMs?: number;
  tokenTtl?: number;
  dateNormalization: boolean;
  listSendDelayMs?: number;
  duplicateKeyErrorCode?: 43030 | 1;
}

const RUN_STATES: readonly RunState[] = ['waiting', 'running', 'completed', 'failed', 'cancelled'];

function runState(value: string): RunState {
  if (!(RUN_STATES as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${RUN_STATES.join(', ')}`);
  return value as RunState;
}

const program = new Command('list-send')
  .description('Salesforce Marketing Cloud list-based email sends as a BullMQ job pipeline')
  .showHelpAfterError();

program
  .command('worker')
  .description('run every step worker until SIGTERM/SIGINT')
  .option('--concurrency <n>', 'jobs per queue at once in this process', positive, 10)
  .action(async (opts: { concurrency: number }) => {
    const config = loadConfig(process.env, { requireSfmc: true });
    await workerCommand(config, createLogger({ level: config.logLevel }), opts);
  });

program
  .command('enqueue')
  .description('enqueue a list send from a JSON file (or - for stdin); prints the runId')
  .argument('<file>', 'request JSON, or - to read standard input')
  .option('--wait', 'show progress on stderr, print the result on stdout, exit 0 only when the Send was created')
  .action(async (file: string, opts: { wait?: boolean }) => {
    process.exitCode = await enqueueCommand(loadConfig(), file, { wait: Boolean(opts.wait) });
  });

program
  .command('status')
  .description("print a run's steps: state, attempts, result or error; without a runId, the schedules and triggers")
  .argument('[runId]')
  .action(async (runId: string | undefined) => {
    process.exitCode = runId === undefined ? await automationStatus(loadConfig()) : await statusCommand(loadConfig(), runId);
  });

program
  .command('runs')
  .description('the recent runs, newest first: state, List, Email, file, import counts, sendId, delivery, a failed run\'s reason')
  .option('--state <state>', 'only runs in this state (waiting, running, completed, failed, cancelled)', runState)
  .option('--limit <n>', 'how many runs (at most 200)', positive, 20)
  .action(async (opts: { state?: RunState; limit: number }) => {
    process.exitCode = await runsCommand(loadConfig(), { ...(opts.state ? { state: opts.state } : {}), limit: Math.min(opts.limit, 200) });
  });

program
  .command('watch')
  .description("one live line per step of a run until it ends (upload progress, poll counts); exit 0 when it completed")
  .argument('<runId>')
  .action(async (runId: string) => {
    process.exitCode = await watchCommand(loadConfig(), runId);
  });

registerAutomationCommands(program);

program
  .command('serve')
  .description('serve the HTTP API, Bull Board (/ui), /healthz, /readyz and /metrics until SIGTERM/SIGINT')
  .option('--port <n>', 'HTTP port (default: API_PORT, else 3000)', port)
  .option('--host <host>', 'interface to listen on (default: API_HOST, else 127.0.0.1)')
  .option('--insecure', 'serve /v1 without API_TOKENS; refused unless the host is loopback')
  .action(async (opts: { port?: number; host?: string; insecure?: boolean }) => {
    const config = loadConfig();
    const { serveCommand } = await import('./serve.js');
    await serveCommand(config, createLogger({ level: config.logLevel }), opts);
  });

program
  .command('sandbox')
  .description('run the built-in SFMC sandbox (OAuth2 + SOAP + SFTP on 127.0.0.1)')
  .option('--port <n>', 'HTTP port', port, 9443)
  .option('--host <host>', 'interface to listen on (0.0.0.0 in a container)', '127.0.0.1')
  .option('--sftp-port <n>', 'SFTP port (default: the HTTP port + 1)', port)
  .option('--data-dir <dir>', 'folder whose Import/ holds files to import, and the SFTP root (default: a temporary folder)')
  .option('--seed <file>', 'JSON with extra lists and emails: { "lists": [{ "id", "name" }], "emails": [...] }')
  .option('--import-register-delay-ms <ms>', 'how long a started import stays unknown to ImportResultsSummary', whole)
  .option('--import-duration-ms <ms>', 'how long an import runs before it is Completed', whole)
  .option('--token-ttl <seconds>', "access tokens' lifetime (SFMC: 1079)", positive)
  .option('--no-date-normalization', "model an account with Incoming Date Normalization off (a filter date's zone is ignored)")
  .option('--list-send-delay-ms <ms>', "how long a Send's ListSend rows stay absent", whole)
  .option('--duplicate-key-error-code <code>', 'ErrorCode of a taken ImportDefinition CustomerKey: 43030 or 1', duplicateKeyCode)
  .action(async (opts: SandboxFlags) => {
    const { runSandbox } = await import('../sandbox/cli.js');
    const { port, host, sftpPort, dataDir, seed, importRegisterDelayMs, importDurationMs, tokenTtl, ...behaviour } = opts;
    await runSandbox({
      logger: createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }),
      port,
      host,
      sftpPort,
      dataDir,
      seedFile: seed,
      registerDelayMs: importRegisterDelayMs,
      durationMs: importDurationMs,
      tokenTtlSeconds: tokenTtl,
      ...behaviour,
    });
  });

program
  .command('demo')
  .description('one whole list send against the built-in sandbox, in one process')
  .action(async () => {
    // Loaded on demand, like serve and sandbox: the demo brings the whole sandbox (an SSH server, an
    // HTTP server), which `list-send worker` must not carry in its memory.
    const { demoCommand } = await import('./demo.js');
    process.exitCode = await demoCommand();
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof ConfigError || err instanceof QueueLayoutError) {
    // QueueLayoutError: `list-send worker` with a QUEUE_SHARDS whose change would strand runs (src/queue-layout.ts).
    console.error(err.message);
    process.exitCode = EXIT.badInput;
  } else {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = EXIT.runFailed;
  }
}
