import { timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join, posix, relative, sep } from 'node:path';
import type { Logger } from 'pino';
import ssh2, { type AuthContext, type Connection, type ParsedKey } from 'ssh2';
import { hostKeyFingerprint } from '../upload/fingerprint.js';
import type { FaultInjector } from './faults.js';
import { serveSession } from './sftp-handlers.js';
import type { SandboxSftp, SftpLogEntry } from './types.js';

const { Server, utils } = ssh2;

/**
 * The sandbox's Enhanced FTP: an SFTP server (ssh2's server mode) on loopback whose root is the
 * sandbox's data folder, so `/Import/x.csv` is `<dataDir>/Import/x.csv`, the file an import reads.
 * It logs in with the sandbox's username and password (or an authorized public key), and has a
 * host key made at start whose SHA256 fingerprint it reports, for SFMC_SFTP_HOST_FINGERPRINT.
 *
 * Its SFTP requests are served by the table in sftp-handlers.ts: what ssh2-sftp-client needs for a
 * streamed put, rename, stat, delete, list and realpath. Writes go straight to the named file: a client that wants atomicity renames, like on SFMC.
 *
 * Fault rules with operation `sftp` count file opens for writing; the firing open has its
 * connection cut (socket destroyed, no reply) once `afterBytes` bytes were written (`reset`), or its
 * writes left unanswered until the rule is removed (`hold`).
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

const MAX_LOG = 10_000;

function equalText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
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

/** A client path to a local path inside root, or undefined when it would leave root. */
export function confinedPath(root: string, clientPath: string): string | undefined {
  const normal = posix.resolve('/', clientPath);
  const local = join(root, ...normal.split('/').filter(Boolean));
  const rel = relative(root, local);
  return rel.startsWith('..') || rel.split(sep).includes('..') ? undefined : local;
}

interface Login {
  username: string;
  password: string;
  authorized: ParsedKey[];
}

/** Password or authorized public key for the one sandbox user; every real login attempt is logged. */
function authenticate(ctx: AuthContext, login: Login, record: (entry: Omit<SftpLogEntry, 'seq' | 'time'>) => void): void {
  if (ctx.method === 'password') {
    const ok = equalText(ctx.username, login.username) && equalText(ctx.password, login.password);
    record({ op: 'auth', username: ctx.username, method: 'password', ok });
    return ok ? ctx.accept() : ctx.reject(['password', 'publickey']);
  }
  if (ctx.method === 'publickey') {
    const key = login.authorized.find((k) => k.type === ctx.key.algo && k.getPublicSSH().equals(ctx.key.data));
    const known = key !== undefined && equalText(ctx.username, login.username);
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

  const localPath = (clientPath: string) => confinedPath(options.root, clientPath);

  const sockets = new Map<number, Socket>();
  const ssh = new Server({ hostKeys: [keys.private] });
  ssh.on('connection', (client: Connection, info) => {
    const socket = sockets.get(info.port);
    let username = '';
    client.on('error', (err) => options.logger?.debug({ err }, 'sandbox sftp client error'));
    client.on('authentication', (ctx: AuthContext) => {
      username = ctx.username;
      authenticate(ctx, { username: options.username, password: options.password, authorized }, record);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('sftp', (acceptSftp) => serveSession(acceptSftp(), username, socket, { localPath, record, faults: options.faults }));
      });
    });
  });

  const net = createServer((socket) => {
    const port = socket.remotePort;
    if (port !== undefined) sockets.set(port, socket);
    socket.once('close', () => {
      if (port !== undefined && sockets.get(port) === socket) sockets.delete(port);
    });
    socket.on('error', () => undefined);
    // Replies go out at once, as OpenSSH's sshd sends them: it sets TCP_NODELAY on every session's
    // socket, SFTP included (packet.c ssh_packet_set_interactive, called from session.c for every
    // session). Node's sockets keep Nagle's algorithm on by default (net.createServer's `noDelay`:
    // false), and on loopback it held small STATUS replies back until the client's delayed ACK, about
    // 40 ms each time: a 1 GB upload spent 0.5 to 9 s in such waits, more or fewer from run to run for
    // the same client (bench item 5 swung several-fold). Whether SFMC's own server sets it is unknown.
    socket.setNoDelay(true);
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
