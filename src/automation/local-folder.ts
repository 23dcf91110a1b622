import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RunError } from '../errors.js';
import { checkUploadPath } from '../upload/local-file.js';
import type { RemoteFileInfo } from '../upload/sftp.js';

/**
 * The regular files of a local folder inside UPLOAD_DIR (the same confinement as a run's
 * file.path, checked on the folder itself and on each file), for `--local-dir` triggers. The
 * upload step checks each file again when it opens it.
 */
export async function listLocalFolder(dir: string, uploadDir: string | undefined): Promise<RemoteFileInfo[]> {
  const refused = checkUploadPath(join(dir, 'x'), uploadDir);
  if (refused) throw new RunError('file-not-allowed', `the trigger's local folder ${dir} ${refused.replace('a file inside', 'a folder inside')}`);
  const names = await readdir(dir);
  const files = await Promise.all(
    names.map(async (name) => {
      try {
        // stat follows a symlink; the upload step refuses one leading out of UPLOAD_DIR.
        const st = await stat(join(dir, name));
        return st.isFile() ? [{ name, size: st.size, mtimeMs: Math.floor(st.mtimeMs) }] : [];
      } catch {
        return []; // gone between readdir and stat
      }
    }),
  );
  return files.flat();
}
