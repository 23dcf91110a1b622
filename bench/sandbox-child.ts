import { createLogger } from '../src/logger.js';
import { createSandbox, type SandboxOptions } from '../src/sandbox/index.js';
import { addLatency } from './common.js';
import { childOptions, serveParent } from './ipc.js';

/** The sandbox in a process of its own: its CPU is then not the pipeline's (SFMC's is not either). */

export interface SandboxChildOptions {
  sandbox: Omit<SandboxOptions, 'now' | 'logger'>;
  latencyMs?: number;
}

export interface SandboxChildReady {
  url: string;
  soapUrl: string;
  tokenUrl: string;
  credentials: { clientId: string; clientSecret: string; accountId: string; username: string; password: string };
}

const options = childOptions<SandboxChildOptions>();
// Errors only, on stderr: a sandbox failure should say why.
const sandbox = await createSandbox({ ...options.sandbox, logger: createLogger({ level: 'error' }) });
addLatency(sandbox, options.latencyMs ?? 0);

serveParent({ url: sandbox.url, soapUrl: sandbox.soapUrl, tokenUrl: sandbox.tokenUrl, credentials: sandbox.credentials } satisfies SandboxChildReady, {
  cpu: () => process.cpuUsage(),
  counts: () => ({ imports: Object.keys(sandbox.state.imports).length, sends: sandbox.state.sends.length }),
  close: () => sandbox.close(),
});
