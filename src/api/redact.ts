import { redactEnvelope } from '../logger.js';

/**
 * Defensive redaction for what the API logs and Bull Board shows. Job data holds no secret by
 * design (the catalog says so), but a future field named like one must not appear on a
 * dashboard: values under these keys are replaced, at any depth. Free text (a failedReason, a
 * stack trace, a job log line) gets `redactText`: the service's own secrets and anything shaped
 * like a credential are replaced before it leaves the process.
 */

const SECRET_KEY = /^(password|passwd|secret|clientsecret|client_secret|token|accesstoken|access_token|refreshtoken|refresh_token|authorization|fueloauth|apikey|api_key|apitokens|api_tokens|security|wsse:security|passphrase|privatekey|private_key)$/i;

export const REDACTED = '[redacted]';

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

export function redactSecrets<T>(value: T, depth = 0): T {
  if (depth > 20 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1)) as T;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    out[key] = isSecretKey(key) ? REDACTED : redactSecrets(v, depth + 1);
  }
  return out as T;
}

/** `Bearer <credential>` anywhere: how tokens travel. */
const BEARER = /\b(Bearer)(\s+)[A-Za-z0-9._~+/=-]+/gi;

/** `Authorization: Basic b3A6cHc=` and other quoted Authorization headers, whatever the scheme. */
const AUTHORIZATION = /\b(authorization["']?\s*[:=]\s*["']?)((?:Basic|Bearer|Digest)\s+)?[^\s"'&,;<>]+/gi;

/** `password=...`, `access_token: ...`, `"clientSecret":"..."`: a secret-named key and its value. */
const KEY_VALUE =
  /\b(password|passwd|secret|client_?secret|(?:access|refresh)_?token|token|api_?key|api_?tokens|fueloauth|passphrase|private_?key)(["']?\s*[:=]\s*["']?)([^\s"'&,;<>]+)/gi;

/** A JWT (SFMC's OAuth2 access tokens are JWT-shaped). */
const JWT = /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

/**
 * An unbroken run of 32+ letters and digits holding both: a hex or base62 token (`openssl rand
 * -hex 32`). Any separator ends a run, so UUIDs, job ids like `newsletter-1-send`, names like
 * `Newsletter_List_2026_December_Edition` and the path segments of a stack trace are kept.
 */
const OPAQUE = /(?<![A-Za-z0-9])(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{32,}(?![A-Za-z0-9])/g;

/** Replaces known secret values and credential-shaped text in free text. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join(REDACTED);
  return redactEnvelope(out)
    .replace(AUTHORIZATION, `$1$2${REDACTED}`)
    .replace(BEARER, `$1$2${REDACTED}`)
    .replace(KEY_VALUE, `$1$2${REDACTED}`)
    .replace(JWT, REDACTED)
    .replace(OPAQUE, REDACTED);
}

/** Secret-named keys and every string, at any depth: for whole response bodies of the dashboard's API. */
export function redactDeep<T>(value: T, secrets: readonly string[] = [], depth = 0): T {
  if (typeof value === 'string') return redactText(value, secrets) as T;
  if (depth > 30 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, secrets, depth + 1)) as T;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    out[key] = isSecretKey(key) ? REDACTED : redactDeep(v, secrets, depth + 1);
  }
  return out as T;
}

/** A request URL with the values of secret-named query parameters (`?access_token=`) replaced. */
export function redactUrl(url: string): string {
  const at = url.indexOf('?');
  if (at === -1) return url;
  const query = url
    .slice(at + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // A malformed escape: judge the name as written.
      }
      return isSecretKey(decoded) && eq !== -1 ? `${name}=${REDACTED}` : pair;
    })
    .join('&');
  return `${url.slice(0, at)}?${query}`;
}
