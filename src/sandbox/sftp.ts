import { timingSafeEqual } from 'node:crypto';
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
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join, posix, relative, sep } from 'node:path';
import type { Logger } from 'pino';
import ssh2, { type Attributes, type AuthContext, type Connection, type FileEntry, type ParsedKey, type SFTPWrapper } from 'ssh2';
import { hostKeyFingerprint } from '../upload/fingerprint.js';
import type { FaultInjector } from './faults.js';
import type { SandboxSftp, SftpLogEntry } from './types.js';

const { Server, utils } = ssh2;
const { STATUS_CODE, OPEN_MODE } = utils.sftp;

/**
 * The sandbox's Enhanced FTP: an SFTP server (ssh2's server mode) on loopback whose root is the
 * sandbox's data folder, so `/Import/x.csv` is `<dataDir>/Import/x.csv`, the file an import reads.
 * It logs in with the sandbox's username and password (or an authorized public key), and has a
 * host key made at start whose SHA256 fingerprint it reports, for SFMC_SFTP_HOST_FINGERPRINT.
 *
 * It serves what ssh2-sftp-client needs for a streamed put, rename, stat, delete, list and
 * realpath: OPEN/WRITE/READ/CLOSE, FSTAT/STAT/LSTAT, (F)SETSTAT (accepted, ignored), OPENDIR/
 * READDIR, REMOVE, RENAME (refusing an existing target, as OpenSSH does), REALPATH, MKDIR/RMDIR.
 * Writes go straight to the named file: a client that wants atomicity renames, like on SFMC.
 *
 * Fault rules with operation `sftp` (kind `reset`) count file opens for writing; the firing open
 * has its connection cut (socket destroyed, no reply) once `afterBytes` bytes were written.
 */

export interface SftpServerOptions {
  host: string;
  port: number;
  /** The folder `/` maps to. */
  root: string;
  username: string;
  password: string;
  /** OpenSSH public keys (`ssh-ed25519 AAAA...`) that may log in as `username`. */
  authorizedKeys?: string[];
  faults: FaultInjector;
  now: () => number;
  logger?: Logger;
}

type Handle =
  | { kind: 'file'; fd: number; path: string; written: number; cutAfter?: number }
  | { kind: 'dir'; path: string; sent: boolean };

const MAX_LOG = 10_000;

function equalText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function attrsOf(st: Stats): Attributes {
  return {
    mode: st.mode,
    uid: 0,
    gid: 0,
    size: st.size,
    atime: Math.floor(st.atimeMs / 1000),
    mtime: Math.floor(st.mtimeMs / 1000),
  };
}

function longname(name: string, st: Stats): string {
  const type = st.isDirectory() ? 'd' : '-';
  const date = new Date(st.mtimeMs).toUTCString().slice(5, 16);
  return `${type}rw-r--r-- 1 sandbox sandbox ${String(st.size).padStart(10)} ${date} ${name}`;
}

/**
 * An ed25519 key pair in OpenSSH format that ssh2 can read back. ssh2 1.17's generator strips
 * leading zero bytes from the public key, so about 1 key in 256 does not parse
 * (mscdex/ssh2#1390, #1513): such a pair is thrown away and another made.
 */
export function generateKeyPair(): { private: string; public: string; parsedPublic: ParsedKey } {
  for (let i = 0; ; i++) {
    const keys = utils.generateKeyPairSync('ed25519');
    const pub = utils.parseKey(keys.public);
    const priv = utils.parseKey(keys.private);
    if (!(pub instanceof Error) && !(priv instanceof Error)) return { ...keys, parsedPublic: pub };
    if (i >= 20) throw pub instanceof Error ? pub : (priv as Error);
  }
}

export async function startSftpServer(options: SftpServerOptions): Promise<SandboxSftp & { close(): Promise<void>; clearLog(): void }> {
  const keys = generateKeyPair();
  const fingerprint = hostKeyFingerprint(keys.parsedPublic.getPublicSSH());
  const authorized: ParsedKey[] = (options.authorizedKeys ?? []).map((k) => {
    const parsed = utils.parseKey(k);
    if (parsed instanceof Error) throw new Error(`sandbox SFTP: authorized key: ${parsed.message}`);
    return parsed;
  });
  mkdirSync(join(options.root, 'Import'), { recursive: true });

  let log: SftpLogEntry[] = [];
  let seq = 0;
  const record = (entry: Omit<SftpLogEntry, 'seq' | 'time'>) => {
    log.push({ seq: ++seq, time: new Date(options.now()).toISOString(), ...entry });
    if (log.length > MAX_LOG) log.splice(0, log.length - MAX_LOG);
    options.logger?.debug({ sftp: entry }, 'sandbox sftp');
  };

  /** A client path to a local path inside root, or undefined when it would leave root. */
  const localPath = (clientPath: string): string | undefined => {
    const normal = posix.resolve('/', clientPath);
    const local = join(options.root, ...normal.split('/').filter(Boolean));
    const rel = relative(options.root, local);
    return rel.startsWith('..') || rel.split(sep).includes('..') ? undefined : local;
  };

  const sockets = new Map<number, Socket>();
  const ssh = new Server({ hostKeys: [keys.private] });
  ssh.on('connection', (client: Connection, info) => {
    const socket = sockets.get(info.port);
    let username = '';
    client.on('error', (err) => options.logger?.debug({ err }, 'sandbox sftp client error'));
    client.on('authentication', (ctx: AuthContext) => {
      username = ctx.username;
      if (ctx.method === 'password') {
        const ok = equalText(ctx.username, options.username) && equalText(ctx.password, options.password);
        record({ op: 'auth', username: ctx.username, method: 'password', ok });
        return ok ? ctx.accept() : ctx.reject(['password', 'publickey']);
      }
      if (ctx.method === 'publickey') {
        const key = authorized.find((k) => k.type === ctx.key.algo && k.getPublicSSH().equals(ctx.key.data));
        const known = key !== undefined && equalText(ctx.username, options.username);
        // Without a signature the client only asks whether the key would do: not a login attempt.
        if (!ctx.signature) {
          if (!known) record({ op: 'auth', username: ctx.username, method: 'publickey', ok: false });
          return known ? ctx.accept() : ctx.reject(['password', 'publickey']);
        }
        const ok = known && key.verify(ctx.blob as Buffer, ctx.signature, ctx.hashAlgo) === true;
        record({ op: 'auth', username: ctx.username, method: 'publickey', ok });
        return ok ? ctx.accept() : ctx.reject(['password', 'publickey']);
      }
      // `none` and keyboard-interactive are not offered; they are not counted as login attempts.
      return ctx.reject(['password', 'publickey']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('sftp', (acceptSftp) => serve(acceptSftp(), username, socket));
      });
    });
  });

  const serve = (sftp: SFTPWrapper, username: string, socket: Socket | undefined) => {
    const handles = new Map<number, Handle>();
    let nextHandle = 1;
    // Once a fault has cut the connection, writes already in flight are not answered or logged.
    let cut = false;
    const newHandle = (h: Handle) => {
      const id = nextHandle++;
      handles.set(id, h);
      const buf = Buffer.alloc(4);
      buf.writeUInt32BE(id);
      return buf;
    };
    const handleOf = (buf: Buffer) => (buf.length === 4 ? handles.get(buf.readUInt32BE(0)) : undefined);
    const fail = (reqid: number, err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE, 'No such file');
      if (code === 'EACCES' || code === 'EPERM') return sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, 'Permission denied');
      return sftp.status(reqid, STATUS_CODE.FAILURE, (err as Error).message);
    };
    const denied = (reqid: number) => sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, 'Permission denied');
    const closeAll = () => {
      for (const h of handles.values()) if (h.kind === 'file') closeSync(h.fd);
      handles.clear();
    };
    sftp.on('close', closeAll);
    sftp.on('end', closeAll);

    sftp.on('OPEN', (reqid, filename, flags) => {
      const path = localPath(filename);
      if (!path) return denied(reqid);
      try {
        const writing = (flags & OPEN_MODE.WRITE) !== 0 || (flags & OPEN_MODE.APPEND) !== 0;
        const fd = openSync(path, utils.sftp.flagsToString(flags) ?? 'r');
        let cutAfter: number | undefined;
        if (writing) {
          const rule = options.faults.match('sftp', undefined);
          if (rule?.kind === 'reset') cutAfter = rule.afterBytes ?? 0;
        }
        record({ op: 'open', username, path: filename, ...(writing ? { detail: cutAfter === undefined ? 'write' : `write, cut after ${cutAfter} bytes` } : {}) });
        sftp.handle(reqid, newHandle({ kind: 'file', fd, path: filename, written: 0, ...(cutAfter !== undefined ? { cutAfter } : {}) }));
      } catch (err) {
        fail(reqid, err);
      }
    });

    sftp.on('WRITE', (reqid, handle, offset, data) => {
      if (cut) return;
      const h = handleOf(handle);
      if (h?.kind !== 'file') return sftp.status(reqid, STATUS_CODE.FAILURE, 'Bad handle');
      try {
        if (h.cutAfter !== undefined && h.written + data.length > h.cutAfter) {
          cut = true;
          const part = Math.max(0, h.cutAfter - h.written);
          if (part > 0) writeSync(h.fd, data, 0, part, offset);
          h.written += part;
          record({ op: 'cut', username, path: h.path, detail: `connection cut after ${h.written} bytes` });
          // No reply: the client sees the connection drop mid-transfer.
          if (socket && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
          else socket?.destroy();
          return;
        }
        writeSync(h.fd, data, 0, data.length, offset);
        h.written += data.length;
        sftp.status(reqid, STATUS_CODE.OK);
      } catch (err) {
        fail(reqid, err);
      }
    });

    sftp.on('READ', (reqid, handle, offset, length) => {
      const h = handleOf(handle);
      if (h?.kind !== 'file') return sftp.status(reqid, STATUS_CODE.FAILURE, 'Bad handle');
      try {
        const buf = Buffer.alloc(Math.min(length, 256 * 1024));
        const n = readSync(h.fd, buf, 0, buf.length, offset);
        if (n === 0) return sftp.status(reqid, STATUS_CODE.EOF);
        sftp.data(reqid, buf.subarray(0, n));
      } catch (err) {
        fail(reqid, err);
      }
    });

    sftp.on('CLOSE', (reqid, handle) => {
      const h = handleOf(handle);
      if (!h) return sftp.status(reqid, STATUS_CODE.FAILURE, 'Bad handle');
      handles.delete(handle.readUInt32BE(0));
      try {
        if (h.kind === 'file') {
          closeSync(h.fd);
          record({ op: 'close', username, path: h.path, detail: `${h.written} bytes written` });
        }
        sftp.status(reqid, STATUS_CODE.OK);
      } catch (err) {
        fail(reqid, err);
      }
    });

    sftp.on('FSTAT', (reqid, handle) => {
      const h = handleOf(handle);
      if (h?.kind !== 'file') return sftp.status(reqid, STATUS_CODE.FAILURE, 'Bad handle');
      sftp.attrs(reqid, attrsOf(fstatSync(h.fd)));
    });

    const statPath = (reqid: number, p: string) => {
      const path = localPath(p);
      if (!path) return denied(reqid);
      try {
        sftp.attrs(reqid, attrsOf(statSync(path)));
      } catch (err) {
        fail(reqid, err);
      }
    };
    sftp.on('STAT', statPath);
    sftp.on('LSTAT', statPath);
    // Modes and times are not kept: accepting keeps clients that set them (ssh2's fchmod) happy.
    sftp.on('FSETSTAT', (reqid) => sftp.status(reqid, STATUS_CODE.OK));
    sftp.on('SETSTAT', (reqid) => sftp.status(reqid, STATUS_CODE.OK));

    sftp.on('OPENDIR', (reqid, p) => {
      const path = localPath(p);
      if (!path) return denied(reqid);
      try {
        if (!statSync(path).isDirectory()) return sftp.status(reqid, STATUS_CODE.FAILURE, 'Not a directory');
        sftp.handle(reqid, newHandle({ kind: 'dir', path, sent: false }));
      } catch (err) {
        fail(reqid, err);
      }
    });

    sftp.on('READDIR', (reqid, handle) => {
      const h = handleOf(handle);
      if (h?.kind !== 'dir') return sftp.status(reqid, STATUS_CODE.FAILURE, 'Bad handle');
      if (h.sent) return sftp.status(reqid, STATUS_CODE.EOF);
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
        if (entries.length === 0) return sftp.status(reqid, STATUS_CODE.EOF);
        sftp.name(reqid, entries);
      } catch (err) {
        fail(reqid, err);
      }
    });

    sftp.on('REMOVE', (reqid, p) => {
      const path = localPath(p);
      if (!path) return denied(reqid);
      try {
        unlinkSync(path);
        record({ op: 'remove', username, path: p });
        sftp.status(reqid, STATUS_CODE.OK);
      } catch (err) {
        fail(reqid, err);
      }
    });

    sftp.on('RENAME', (reqid, from, to) => {
      const a = localPath(from);
      const b = localPath(to);
      if (!a || !b) return denied(reqid);
      // SFTP v3 RENAME does not overwrite (OpenSSH answers FAILURE); clients delete first.
      if (existsSync(b)) return sftp.status(reqid, STATUS_CODE.FAILURE, 'File exists');
      try {
        renameSync(a, b);
        record({ op: 'rename', username, path: from, detail: `to ${to}` });
        sftp.status(reqid, STATUS_CODE.OK);
      } catch (err) {
        fail(reqid, err);
      }
    });

    sftp.on('REALPATH', (reqid, p) => {
      const normal = posix.resolve('/', p);
      sftp.name(reqid, [{ filename: normal, longname: normal, attrs: {} as FileEntry['attrs'] }]);
    });

    sftp.on('MKDIR', (reqid, p) => {
      const path = localPath(p);
      if (!path) return denied(reqid);
      try {
        mkdirSync(path);
        sftp.status(reqid, STATUS_CODE.OK);
      } catch (err) {
        fail(reqid, err);
      }
    });

    sftp.on('RMDIR', (reqid, p) => {
      const path = localPath(p);
      if (!path) return denied(reqid);
      try {
        rmdirSync(path);
        sftp.status(reqid, STATUS_CODE.OK);
      } catch (err) {
        fail(reqid, err);
      }
    });
  };

  const net = createServer((socket) => {
    const port = socket.remotePort;
    if (port !== undefined) sockets.set(port, socket);
    socket.once('close', () => {
      if (port !== undefined && sockets.get(port) === socket) sockets.delete(port);
    });
    socket.on('error', () => undefined);
    ssh.injectSocket(socket);
  });
  await new Promise<void>((resolve, reject) => {
    net.once('error', reject);
    net.listen(options.port, options.host, () => {
      net.off('error', reject);
      resolve();
    });
  });
  const port = (net.address() as AddressInfo).port;

  let closed: Promise<void> | undefined;
  return {
    host: options.host,
    port,
    fingerprint,
    username: options.username,
    dataDir: options.root,
    importDir: join(options.root, 'Import'),
    log: () => log.map((e) => ({ ...e })),
    authAttempts: () => log.filter((e) => e.op === 'auth').map((e) => ({ ...e })),
    clearLog: () => {
      log = [];
      seq = 0;
    },
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        for (const s of sockets.values()) s.destroy();
        net.close(() => resolve());
      });
      return closed;
    },
  };
}
