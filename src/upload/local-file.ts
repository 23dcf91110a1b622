import { constants, realpathSync } from 'node:fs';
import { open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { isAbsolute, resolve, sep } from 'node:path';
import { RunError } from '../errors.js';

/**
 * Confinement of uploads to UPLOAD_DIR (issue #10). Without it anyone who may enqueue a run could
 * make a worker read any local file (/etc/passwd, /proc/self/environ) and have parts of it quoted
 * back in the run's problems. Two checks:
 *
 * - producers (API, CLI) call `checkUploadPath`: lexical only, plus the realpath of the folder.
 *   It never touches the file, so its answer cannot tell a caller whether a file exists.
 * - the worker calls `openUploadFile`: the lexical check again, realpath of the file inside
 *   realpath(UPLOAD_DIR), an open that follows no final symlink and cannot block on a FIFO, then
 *   fstat on the open handle (not the path) for a regular file within UPLOAD_MAX_BYTES.
 */

/** Why a path is refused before anything is read, or undefined when it may be used. */
export function checkUploadPath(path: string, uploadDir: string | undefined): string | undefined {
  if (!uploadDir) return 'this service has no UPLOAD_DIR, so it accepts no runs with a file';
  if (!isAbsolute(path)) return 'must be an absolute path';
  // `.` and `..` segments are refused outright rather than resolved: on disk `..` after a symlinked
  // folder does not mean what it means lexically.
  if (path.split(/[\\/]/).some((segment) => segment === '.' || segment === '..')) return 'must not contain . or .. segments';
  if (path.includes('\0')) return 'must not contain a NUL character';
  const dirs = [resolve(uploadDir), realpathOfFolder(uploadDir)].filter((d): d is string => d !== undefined);
  if (!dirs.some((dir) => isInside(resolve(path), dir))) return `must be a file inside UPLOAD_DIR (${uploadDir})`;
  return undefined;
}

const folderRealpaths = new Map<string, string | undefined>();

/** realpath of UPLOAD_DIR itself, remembered: the folder is configuration, not request input. */
function realpathOfFolder(dir: string): string | undefined {
  if (!folderRealpaths.has(dir)) {
    let real: string | undefined;
    try {
      real = realpathSync(dir);
    } catch {
      real = undefined;
    }
    folderRealpaths.set(dir, real);
  }
  return folderRealpaths.get(dir);
}

/** True when `path` is strictly below `dir` (both absolute and normalised). */
export function isInside(path: string, dir: string): boolean {
  const base = dir.endsWith(sep) ? dir : dir + sep;
  return path.startsWith(base) && path.length > base.length;
}

export interface OpenedUploadFile {
  handle: FileHandle;
  /** Size from fstat on the open handle: what the upload reads, and no more. */
  size: number;
  /** The resolved path inside UPLOAD_DIR. */
  realPath: string;
}

// O_NONBLOCK: opening a FIFO for reading with no writer would otherwise wait forever (and hold an
// upload slot); it is then refused below as not a regular file. O_NOFOLLOW: a final symlink
// swapped in after the realpath check is not followed.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Opens a run's file for upload, or throws a fatal RunError (`file-not-allowed`, `file-unreadable`,
 * `file-too-large`) whose message names the field and never quotes the file.
 */
export async function openUploadFile(path: string, limits: { dir: string; maxBytes: number }): Promise<OpenedUploadFile> {
  const refused = checkUploadPath(path, limits.dir);
  if (refused) throw new RunError('file-not-allowed', `file.path ${path} ${refused}`, { path });
  let root: string;
  try {
    root = await realpath(limits.dir);
  } catch (err) {
    throw new RunError('file-unreadable', `UPLOAD_DIR ${limits.dir} cannot be resolved on the worker (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  // One message for "missing" and "leads out of UPLOAD_DIR": a link placed in the folder must not
  // become a way to learn whether a file exists elsewhere.
  const notInside = () =>
    new RunError('file-unreadable', `cannot read file.path ${path} on the worker: no such file inside UPLOAD_DIR (missing, or a symlink or folder leading out of it)`, { path });
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw notInside();
  }
  if (!isInside(real, root)) throw notInside();
  let handle: FileHandle;
  try {
    handle = await open(real, OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOENT') throw notInside();
    throw new RunError('file-unreadable', `cannot open file.path ${path} on the worker (${code ?? 'error'})`, { path });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new RunError('file-not-allowed', `file.path ${path} is not a regular file (a folder, FIFO, socket or device is never uploaded)`, { path });
    }
    // What the kernel actually opened, in case a folder on the way was swapped for a symlink after
    // the realpath check. Linux only; elsewhere the checks above stand alone.
    const opened = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
    if (opened !== undefined && opened.startsWith('/') && !isInside(opened, root)) throw notInside();
    if (stats.size > limits.maxBytes) {
      throw new RunError('file-too-large', `file.path ${path} has ${stats.size} bytes, more than UPLOAD_MAX_BYTES (${limits.maxBytes})`, { path, bytes: stats.size });
    }
    return { handle, size: stats.size, realPath: real };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}
