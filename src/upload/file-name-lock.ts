import { createHash } from 'node:crypto';
import type { SftpConfig } from '../config.js';
import { runScript, type RedisLike } from '../redis.js';

/**
 * One run at a time owns a remote file name in an Enhanced FTP folder: from before its upload's
 * first byte until SFMC's import has finished reading the file. Without it two runs with the same
 * explicit `import.fileSpec` (a watch-folder trigger's dropped name, a schedule's fixed name) can
 * overwrite each other's upload while SFMC reads it, and one run's List gets the other's subscribers.
 *
 * The owner is a runId, held as a lease: the key expires unless the owner renews it while it works
 * (src/worker/file-name.ts renews it on every visit of its steps and during the upload), so a
 * crashed or stalled-out owner blocks the name for at most one lease. Take, renew and release are
 * each one script on the one key, so two runs can never both own the name, and only the owner can
 * extend or end its lease.
 *
 * Key, under QUEUE_PREFIX (account-wide, never sharded: src/shards.ts; two runs of different shards
 * must meet on the same key):
 *   <prefix>:file-name:<hash of SFTP host, port, folder and file name>   string: the owner's runId, PX lease
 * The folder, not the SFTP user or the SFMC account, decides which names collide: every user of
 * one FTP host and folder sees the same files (whether SFMC gives several FTP users of a tenant one
 * folder is UNVERIFIED; keying by host and folder errs on the side of waiting). Hashed, so no host or
 * file name appears in a key name.
 */

export type TakeOutcome =
  /** `fresh`: the name was not this run's before (a retried upload must not trust what is there). */
  | { owned: true; fresh: boolean }
  /** Another run holds the name, for at most `ttlMs` more unless it renews. */
  | { owned: false; holder: string; ttlMs: number };

// KEYS[1] the name's key; ARGV[1] runId, ARGV[2] lease ms. {1, fresh} or {0, holder, pttl}.
const TAKE = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return {0, holder, redis.call('PTTL', KEYS[1])} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if holder then return {1, 0} end
return {1, 1}`;

// Only the owner extends its lease: a lease that expired (or another run's) is not taken back here.
const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

// Compare and delete: a run whose lease expired never deletes the next owner's.
const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

/** Where a remote file name lives: the FTP host and the folder the uploader writes to. */
export type RemoteFolder = Pick<SftpConfig, 'host' | 'port' | 'dir'>;

export class FileNameLocks {
  constructor(
    private readonly redis: RedisLike,
    /** QUEUE_PREFIX itself, not a shard's. */
    private readonly prefix: string,
  ) {}

  key(folder: RemoteFolder, fileSpec: string): string {
    const name = createHash('sha256').update(`${folder.host}\n${folder.port}\n${folder.dir}\n${fileSpec}`).digest('hex').slice(0, 32);
    return `${this.prefix}:file-name:${name}`;
  }

  /** Takes the name for `runId` (or renews it when the run already owns it), unless another run holds it. */
  async take(key: string, runId: string, leaseMs: number): Promise<TakeOutcome> {
    const reply = (await runScript(this.redis, TAKE, 1, key, runId, Math.max(1, Math.round(leaseMs)))) as [number, number | string, number?];
    if (reply[0] === 1) return { owned: true, fresh: reply[1] === 1 };
    return { owned: false, holder: String(reply[1]), ttlMs: Number(reply[2]) };
  }

  /** Extends the lease of the run that owns the name; false when `runId` no longer owns it. */
  async renew(key: string, runId: string, leaseMs: number): Promise<boolean> {
    return ((await runScript(this.redis, RENEW, 1, key, runId, Math.max(1, Math.round(leaseMs)))) as number) === 1;
  }

  /** Ends `runId`'s ownership; false when it did not own the name (expired, or never taken). */
  async release(key: string, runId: string): Promise<boolean> {
    return ((await runScript(this.redis, RELEASE, 1, key, runId)) as number) === 1;
  }

  /** The runId that owns the name now, if any (for status and tests). */
  async holder(key: string): Promise<string | undefined> {
    return (await this.redis.get(key)) ?? undefined;
  }
}
