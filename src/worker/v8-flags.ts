import { setFlagsFromString } from 'node:v8';

/**
 * The V8 settings `list-send worker` runs with, so a 1 GB upload stays under 150 MB of RSS (issue
 * #14). bin/list-send.js applies them before it loads anything else; bench/worker-child.ts does the
 * same, so bench items 3, 4 and 5 measure the worker as it runs in production. This module imports
 * nothing else: it must run before the modules whose loading would grow the young generation.
 *
 * Why each one (measured with a 1 GB upload in bench item 5's worker child, RSS by /proc smaps):
 * - `--semi-space-growth-factor=1`: the young generation keeps its initial 1 MB semi-spaces instead
 *   of growing to 16 MB while the modules load (about 15 MB less RSS when idle). It also bounds the
 *   dead packet buffers an upload leaves: ssh2 allocates two ~32 KB Buffers per WRITE request, and
 *   with a 16 MB young generation V8 collects them only once 32 MB of young ArrayBuffers pile up
 *   (its fixed external-memory trigger, unaffected by --max-semi-space-size); with 1 MB it collects
 *   them every megabyte of JavaScript allocation, about 20 MB instead of 34 MB at the peak. Read each
 *   time V8 grows the young generation, so it takes effect when set at run time.
 * - `--liftoff-only`: in a fresh worker's first run, V8 recompiled hot WebAssembly with TurboFan on a
 *   background thread (strace: ExecuteTurbofanWasmCompilation), whose compile memory reached 36 MB for
 *   a moment (/proc smaps: a 36 MB malloc arena of that thread, freed right after), on top of the
 *   run's upload. The one large WebAssembly module the worker runs is undici's HTTP parser (llhttp,
 *   which parses each SOAP reply; ssh2's poly1305 module is small, and unused beside its native
 *   binding). Its baseline (Liftoff) code is enough for replies of a few KB. Read when WebAssembly
 *   is compiled, so it takes effect when set before undici's first request.
 * Node documents that flags set after start-up may have no effect: both are read when used, and the
 * bench's RSS figures check that they do.
 */
export const WORKER_V8_FLAGS = ['--semi-space-growth-factor=1', '--liftoff-only'] as const;

export function applyWorkerV8Flags(): void {
  for (const flag of WORKER_V8_FLAGS) setFlagsFromString(flag);
}
