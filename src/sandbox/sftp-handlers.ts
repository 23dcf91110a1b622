import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import type { Socket } from 'node:net';
import { join, posix } from 'node:path';
import ssh2, { type Attributes, type FileEntry, type SFTPWrapper } from 'ssh2';
import type { FaultInjector } from './faults.js';
import type { SftpLogEntry } from './types.js';

const { STATUS_CODE, OPEN_MODE, flagsToString } = ssh2.utils.sftp;

/**
 * The sandbox SFTP server's request handlers, one per SFTP request type, as a table: what
 * ssh2-sftp-client needs for a streamed put, rename, stat, delete, list and realpath.
 * OPEN/WRITE/READ/CLOSE, FSTAT/STAT/LSTAT, (F)SETSTAT (accepted, ignored), OPENDIR/READDIR, REMOVE,
 * RENAME (refusing an existing target, as OpenSSH does), REALPATH, MKDIR/RMDIR. A request type not
 * in the table gets ssh2's default answer (OP_UNSUPPORTED).
 */

type Handle =
  /** `held`: a `hold` rule's removal, which every write of this file waits for. */
  | { kind: 'file'; fd: number; path: string; written: number; cutAfter?: number; held?: Promise<void> }
  | { kind: 'dir'; path: string; sent: boolean };

/** What the server gives each SFTP session. */
export interface SessionServices {
  /** A client path to a local path inside the root, or undefined when it would leave the root. */
  localPath(clientPath: string): string | undefined;
  record(entry: Omit<SftpLogEntry, 'seq' | 'time'>): void;
  faults: FaultInjector;
}

/** One SFTP session's state and the replies every handler uses. */
export interface Session extends SessionServices {
  sftp: SFTPWrapper;
  username: string;
  /** The TCP connection, which an `sftp` reset fault destroys. */
  socket: Socket | undefined;
  handles: Map<number, Handle>;
  nextHandle: number;
  /** Once a fault has cut the connection, or the session has ended, writes in flight are not answered or logged. */
  cut: boolean;
}

function newHandle(s: Session, h: Handle): Buffer {
  const id = s.nextHandle++;
  s.handles.set(id, h);
  const buf = Buffer.alloc(4);
  buf.writeUInt32BE(id);
  return buf;
}

const handleOf = (s: Session, buf: Buffer) => (buf.length === 4 ? s.handles.get(buf.readUInt32BE(0)) : undefined);

function fail(s: Session, reqid: number, err: unknown): void {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') s.sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE, 'No such file');
  else if (code === 'EACCES' || code === 'EPERM') s.sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, 'Permission denied');
  else s.sftp.status(reqid, STATUS_CODE.FAILURE, (err as Error).message);
}

const denied = (s: Session, reqid: number) => s.sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, 'Permission denied');
const badHandle = (s: Session, reqid: number) => s.sftp.status(reqid, STATUS_CODE.FAILURE, 'Bad handle');

/** Runs `act` on the local path inside the root: permission denied outside it, the fs error mapped on failure. */
function atPath(s: Session, reqid: number, clientPath: string, act: (path: string) => void): void {
  const path = s.localPath(clientPath);
  if (!path) return denied(s, reqid);
  try {
    act(path);
  } catch (err) {
    fail(s, reqid, err);
  }
}

function attrsOf(st: Stats): Attributes {
  return { mode: st.mode, uid: 0, gid: 0, size: st.size, atime: Math.floor(st.atimeMs / 1000), mtime: Math.floor(st.mtimeMs / 1000) };
}

function longname(name: string, st: Stats): string {
  const type = st.isDirectory() ? 'd' : '-';
  const date = new Date(st.mtimeMs).toUTCString().slice(5, 16);
  return `${type}rw-r--r-- 1 sandbox sandbox ${String(st.size).padStart(10)} ${date} ${name}`;
}

function open(s: Session, reqid: number, filename: string, flags: number): void {
  atPath(s, reqid, filename, (path) => {
    const writing = (flags & OPEN_MODE.WRITE) !== 0 || (flags & OPEN_MODE.APPEND) !== 0;
    const fd = openSync(path, flagsToString(flags) ?? 'r');
    let cutAfter: number | undefined;
    let held: Promise<void> | undefined;
    if (writing) {
      // Fault rules with operation `sftp` (kinds `reset`, `hold`) count file opens for writing.
      const rule = s.faults.match('sftp', undefined);
      if (rule?.kind === 'reset') cutAfter = rule.afterBytes ?? 0;
      if (rule?.kind === 'hold') held = s.faults.removed(rule.id);
    }
    const detail = cutAfter !== undefined ? `write, cut after ${cutAfter} bytes` : held ? 'write, held' : 'write';
    s.record({ op: 'open', username: s.username, path: filename, ...(writing ? { detail } : {}) });
    s.sftp.handle(reqid, newHandle(s, { kind: 'file', fd, path: filename, written: 0, ...(cutAfter !== undefined ? { cutAfter } : {}), ...(held ? { held } : {}) }));
  });
}

function write(s: Session, reqid: number, handle: Buffer, offset: number, data: Buffer): void {
  if (s.cut) return;
  const h = handleOf(s, handle);
  if (h?.kind !== 'file') return badHandle(s, reqid);
  // Held: answered once the rule goes, in the order the writes came (one promise, callbacks in order).
  if (h.held) return void h.held.then(() => writeNow(s, reqid, h, offset, data));
  writeNow(s, reqid, h, offset, data);
}

function writeNow(s: Session, reqid: number, h: Extract<Handle, { kind: 'file' }>, offset: number, data: Buffer): void {
  // A held write released after the session ended (its file closed) is dropped.
  if (s.cut) return;
  try {
    if (h.cutAfter !== undefined && h.written + data.length > h.cutAfter) {
      s.cut = true;
      const part = Math.max(0, h.cutAfter - h.written);
      if (part > 0) writeSync(h.fd, data, 0, part, offset);
      h.written += part;
      s.record({ op: 'cut', username: s.username, path: h.path, detail: `connection cut after ${h.written} bytes` });
      // No reply: the client sees the connection drop mid-transfer.
      if (s.socket && typeof s.socket.resetAndDestroy === 'function') s.socket.resetAndDestroy();
      else s.socket?.destroy();
      return;
    }
    writeSync(h.fd, data, 0, data.length, offset);
    h.written += data.length;
    s.sftp.status(reqid, STATUS_CODE.OK);
  } catch (err) {
    fail(s, reqid, err);
  }
}

function read(s: Session, reqid: number, handle: Buffer, offset: number, length: number): void {
  const h = handleOf(s, handle);
  if (h?.kind !== 'file') return badHandle(s, reqid);
  try {
    const buf = Buffer.alloc(Math.min(length, 256 * 1024));
    const n = readSync(h.fd, buf, 0, buf.length, offset);
    if (n === 0) return s.sftp.status(reqid, STATUS_CODE.EOF);
    s.sftp.data(reqid, buf.subarray(0, n));
  } catch (err) {
    fail(s, reqid, err);
  }
}

function close(s: Session, reqid: number, handle: Buffer): void {
  const h = handleOf(s, handle);
  if (!h) return badHandle(s, reqid);
  s.handles.delete(handle.readUInt32BE(0));
  try {
    if (h.kind === 'file') {
      closeSync(h.fd);
      s.record({ op: 'close', username: s.username, path: h.path, detail: `${h.written} bytes written` });
    }
    s.sftp.status(reqid, STATUS_CODE.OK);
  } catch (err) {
    fail(s, reqid, err);
  }
}

function fstat(s: Session, reqid: number, handle: Buffer): void {
  const h = handleOf(s, handle);
  if (h?.kind !== 'file') return badHandle(s, reqid);
  s.sftp.attrs(reqid, attrsOf(fstatSync(h.fd)));
}

function stat(s: Session, reqid: number, clientPath: string): void {
  atPath(s, reqid, clientPath, (path) => s.sftp.attrs(reqid, attrsOf(statSync(path))));
}

/** Modes and times are not kept: accepting keeps clients that set them (ssh2's fchmod) happy. */
function setstat(s: Session, reqid: number): void {
  s.sftp.status(reqid, STATUS_CODE.OK);
}

function opendir(s: Session, reqid: number, clientPath: string): void {
  atPath(s, reqid, clientPath, (path) => {
    if (!statSync(path).isDirectory()) return s.sftp.status(reqid, STATUS_CODE.FAILURE, 'Not a directory');
    s.sftp.handle(reqid, newHandle(s, { kind: 'dir', path, sent: false }));
  });
}

function readdir(s: Session, reqid: number, handle: Buffer): void {
  const h = handleOf(s, handle);
  if (h?.kind !== 'dir') return badHandle(s, reqid);
  if (h.sent) return s.sftp.status(reqid, STATUS_CODE.EOF);
  h.sent = true;
  try {
    const entries: FileEntry[] = readdirSync(h.path).flatMap((name) => {
      try {
        const st = statSync(join(h.path, name));
        return [{ filename: name, longname: longname(name, st), attrs: attrsOf(st) as FileEntry['attrs'] }];
      } catch {
        return [];
      }
    });
    if (entries.length === 0) return s.sftp.status(reqid, STATUS_CODE.EOF);
    s.sftp.name(reqid, entries);
  } catch (err) {
    fail(s, reqid, err);
  }
}

function remove(s: Session, reqid: number, clientPath: string): void {
  atPath(s, reqid, clientPath, (path) => {
    unlinkSync(path);
    s.record({ op: 'remove', username: s.username, path: clientPath });
    s.sftp.status(reqid, STATUS_CODE.OK);
  });
}

function rename(s: Session, reqid: number, from: string, to: string): void {
  const a = s.localPath(from);
  const b = s.localPath(to);
  if (!a || !b) return denied(s, reqid);
  // SFTP v3 RENAME does not overwrite (OpenSSH answers FAILURE); clients delete first.
  if (existsSync(b)) return s.sftp.status(reqid, STATUS_CODE.FAILURE, 'File exists');
  try {
    renameSync(a, b);
    s.record({ op: 'rename', username: s.username, path: from, detail: `to ${to}` });
    s.sftp.status(reqid, STATUS_CODE.OK);
  } catch (err) {
    fail(s, reqid, err);
  }
}

function realpath(s: Session, reqid: number, clientPath: string): void {
  const normal = posix.resolve('/', clientPath);
  s.sftp.name(reqid, [{ filename: normal, longname: normal, attrs: {} as FileEntry['attrs'] }]);
}

function mkdir(s: Session, reqid: number, clientPath: string): void {
  atPath(s, reqid, clientPath, (path) => {
    mkdirSync(path);
    s.sftp.status(reqid, STATUS_CODE.OK);
  });
}

function rmdir(s: Session, reqid: number, clientPath: string): void {
  atPath(s, reqid, clientPath, (path) => {
    rmdirSync(path);
    s.sftp.status(reqid, STATUS_CODE.OK);
  });
}

type RequestHandler = (session: Session, reqid: number, ...args: never[]) => void;

/** SFTP request type -> handler; each gets the session and ssh2's arguments for that request. */
export const SFTP_HANDLERS = {
  OPEN: open,
  WRITE: write,
  READ: read,
  CLOSE: close,
  FSTAT: fstat,
  STAT: stat,
  LSTAT: stat,
  FSETSTAT: setstat,
  SETSTAT: setstat,
  OPENDIR: opendir,
  READDIR: readdir,
  REMOVE: remove,
  RENAME: rename,
  REALPATH: realpath,
  MKDIR: mkdir,
  RMDIR: rmdir,
} satisfies Record<string, RequestHandler>;

/** Serves one SFTP session with the handler table; its open files close when it ends. */
export function serveSession(sftp: SFTPWrapper, username: string, socket: Socket | undefined, services: SessionServices): void {
  const session: Session = { ...services, sftp, username, socket, handles: new Map(), nextHandle: 1, cut: false };
  const closeAll = () => {
    session.cut = true;
    for (const h of session.handles.values()) if (h.kind === 'file') closeSync(h.fd);
    session.handles.clear();
  };
  sftp.on('close', closeAll);
  sftp.on('end', closeAll);
  for (const [request, handler] of Object.entries(SFTP_HANDLERS)) {
    const call = handler as (session: Session, ...args: unknown[]) => void;
    sftp.on(request as 'OPEN', (...args: unknown[]) => call(session, ...args));
  }
}
