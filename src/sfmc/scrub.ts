import { isSfmcError } from './errors.js';

/**
 * Keeps the account's secrets and recently used access tokens out of error messages, stacks and
 * error context, whatever a remote party echoes back (faultString, statusMessage, an HTML page).
 */
export interface SecretScrubber {
  /** Tokens this client has used lately: a reply may quote an earlier one (a refreshed token stays valid until it expires). */
  rememberToken(token: string | undefined): void;
  /** Every known secret and recent token in a text replaced. */
  clean(text: string): string;
  /** Message, stack and string context of an error cleaned in place; the same error returned. */
  scrub(err: unknown): unknown;
}

const RECENT_TOKENS = 8;
/** Shorter values would redact ordinary words; no real secret is this short. */
const MIN_SECRET_LENGTH = 4;

export function createSecretScrubber(secrets: readonly (string | undefined)[]): SecretScrubber {
  const recentTokens: string[] = [];

  const clean = (text: string): string => {
    const known = [...secrets, ...recentTokens].filter((s): s is string => s !== undefined && s.length >= MIN_SECRET_LENGTH);
    return known.reduce((t, secret) => t.split(secret).join('[redacted]'), text);
  };

  return {
    rememberToken(token) {
      if (token === undefined || recentTokens.includes(token)) return;
      recentTokens.push(token);
      if (recentTokens.length > RECENT_TOKENS) recentTokens.shift();
    },
    clean,
    scrub(err) {
      if (!(err instanceof Error)) return err;
      err.message = clean(err.message);
      if (err.stack) err.stack = clean(err.stack);
      if (isSfmcError(err)) {
        const context = err.context as Record<string, unknown>;
        for (const [k, v] of Object.entries(context)) if (typeof v === 'string') context[k] = clean(v);
      }
      return err;
    },
  };
}
