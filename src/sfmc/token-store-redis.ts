import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import type { SfmcAuthConfig } from '../config.js';
import { runScript, type RedisLike } from '../redis.js';
import type { TokenRecord, TokenStore } from './auth.js';

/**
 * A TokenStore in Redis, so every worker process of an account shares one OAuth2 token (SFMC asks
 * for about one token request per 20 minutes, not one per process). The token is stored only
 * encrypted: AES-256-GCM under a key derived (HKDF-SHA256) from the client secret, with the cache
 * key as associated data, so a value cannot be read without the secret nor moved to another
 * account's key. Keys live under QUEUE_PREFIX, account-wide: never sharded (src/shards.ts), one slot.
 *
 *   <prefix>:sfmc-token:<hash of auth URL, client id, MID>                 the sealed token, PX = its lifetime
 *   <prefix>:sfmc-token:<hash of auth URL, client id, MID>:refresh-lock    SET NX PX while one process fetches
 */

export interface RedisTokenStoreOptions {
  redis: RedisLike;
  /** The queue prefix, e.g. `{list-send}`. */
  prefix: string;
  /** The OAuth2 client secret: the encryption key is derived from it. It is never stored. */
  clientSecret: string;
  now?: () => number;
}

const FORMAT = 'v1';
const SALT = 'sfmc-list-send token store v1';

// Deletes the lock only if it is still ours (a lock that expired may belong to another process).
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export class RedisTokenStore implements TokenStore {
  private readonly redis: RedisLike;
  private readonly prefix: string;
  private readonly secret: string;
  private readonly now: () => number;
  private readonly keys = new Map<string, Buffer>();

  constructor(options: RedisTokenStoreOptions) {
    if (!options.clientSecret) throw new TypeError('RedisTokenStore needs the client secret to derive its key');
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.secret = options.clientSecret;
    this.now = options.now ?? Date.now;
  }

  /** The Redis key a cache key is stored under. */
  redisKey(key: string): string {
    return `${this.prefix}:${key}`;
  }

  private keyFor(key: string): Buffer {
    let derived = this.keys.get(key);
    if (!derived) {
      derived = Buffer.from(hkdfSync('sha256', this.secret, SALT, `token:${key}`, 32));
      this.keys.set(key, derived);
    }
    return derived;
  }

  /** `v1.<iv>.<tag>.<ciphertext>`, base64url. */
  seal(key: string, record: TokenRecord): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keyFor(key), iv);
    cipher.setAAD(Buffer.from(key));
    const body = Buffer.concat([cipher.update(JSON.stringify(record), 'utf8'), cipher.final()]);
    return [FORMAT, iv, cipher.getAuthTag(), body].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  /** undefined for anything that does not decrypt (another secret, another key, tampering). */
  open(key: string, sealed: string): TokenRecord | undefined {
    const [format, iv, tag, body] = sealed.split('.');
    if (format !== FORMAT || !iv || !tag || body === undefined) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.keyFor(key), Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(key));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      const text = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      const record = JSON.parse(text) as Partial<TokenRecord>;
      if (typeof record.accessToken !== 'string' || typeof record.expiresAt !== 'number') return undefined;
      return record as TokenRecord;
    } catch {
      return undefined;
    }
  }

  async get(key: string): Promise<TokenRecord | undefined> {
    const sealed = await this.redis.get(this.redisKey(key));
    return sealed === null ? undefined : this.open(key, sealed);
  }

  async set(key: string, record: TokenRecord): Promise<void> {
    const ttlMs = Math.floor(record.expiresAt - this.now());
    if (ttlMs <= 0) return;
    await this.redis.set(this.redisKey(key), this.seal(key, record), 'PX', ttlMs);
  }

  async acquireRefreshLock(key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined> {
    const lockKey = `${this.redisKey(key)}:refresh-lock`;
    const owner = randomUUID();
    const taken = await this.redis.set(lockKey, owner, 'PX', Math.max(1, Math.floor(ttlMs)), 'NX');
    if (taken !== 'OK') return undefined;
    return async () => {
      await runScript(this.redis, RELEASE, 1, lockKey, owner);
    };
  }
}

/** The store a worker process uses: shared through Redis for OAuth2; WS-Security has no token. */
export function sharedTokenStore(auth: SfmcAuthConfig, redis: RedisLike, prefix: string): TokenStore | undefined {
  return auth.mode === 'oauth2' ? new RedisTokenStore({ redis, prefix, clientSecret: auth.clientSecret }) : undefined;
}
