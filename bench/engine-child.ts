import { engineOverhead } from './engine-overhead.js';
import { childOptions, serveParent } from './ipc.js';

/**
 * Item 1 in a process of its own, started as tsc output (bench/build.ts): production runs the
 * pipeline from dist/ (`list-send worker`), and through tsx every function made per call is wrapped
 * in a naming helper, a cost the pipeline's code paid more of than the hand-written chain's.
 */

export interface EngineChildOptions {
  redisUrl: string;
  /** The partner WSDL the sandboxes check requests against: found from here, the tsc output's folder would miss it. */
  wsdlPath: string;
}

const o = childOptions<EngineChildOptions>();
// Read when a sandbox starts (src/sandbox/schema), here and in the sandbox children, which inherit it.
process.env.SFMC_WSDL_PATH = o.wsdlPath;

serveParent(
  {},
  {
    run: () => engineOverhead({ redisUrl: o.redisUrl, quick: false, say: (line) => process.stderr.write(`${line}\n`) }),
    close: () => undefined,
  },
);
