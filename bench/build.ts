import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../src/paths.js';

/**
 * Worker processes whose memory is measured run compiled JavaScript, as `list-send worker` does
 * (it runs dist/): through tsx they would carry its loader, about 35 MB of RSS on this machine.
 * The bench compiles src/, queues/, processors/ and bench/ with tsc into a cache folder once per
 * run (never into dist/, which belongs to `npm run build`). The folder is inside this checkout, not
 * under node_modules/: worktrees share one node_modules, and two benches would delete each other's
 * tree. Inside the checkout, the compiled files still resolve packages through its node_modules.
 */

const root = projectRoot(import.meta.url);
export const BUILD_DIR = join(root, '.scratch-bench-build');

let building: Promise<string> | undefined;

/** Compiles once per bench process; resolves to the folder that mirrors the project's layout. */
export function compiledTree(): Promise<string> {
  building ??= (async () => {
    await rm(BUILD_DIR, { recursive: true, force: true });
    await mkdir(BUILD_DIR, { recursive: true });
    const up = relative(BUILD_DIR, root);
    await writeFile(
      join(BUILD_DIR, 'tsconfig.json'),
      JSON.stringify({
        extends: join(up, 'tsconfig.json'),
        compilerOptions: { outDir: '.', rootDir: up, declaration: false, sourceMap: false, noEmitOnError: false },
        include: ['src', 'queues', 'processors', 'bench'].map((d) => join(up, d)),
      }),
    );
    // Said again here, so the compiled files are ES modules whatever the folder's parents say.
    await writeFile(join(BUILD_DIR, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    // Type errors elsewhere in a tree being worked on must not stop the bench: tsc still emits.
    await promisify(execFile)(process.execPath, [tsc, '-p', join(BUILD_DIR, 'tsconfig.json')]).catch(() => undefined);
    if (!existsSync(join(BUILD_DIR, 'bench', 'worker-child.js'))) throw new Error(`tsc did not compile the bench into ${BUILD_DIR}`);
    return BUILD_DIR;
  })();
  return building;
}
