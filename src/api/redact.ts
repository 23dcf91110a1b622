/**
 * Defensive redaction for what Bull Board shows. Job data holds no secret by design (the catalog
 * says so), but a future field named like one must not appear on a dashboard: values under these
 * keys are replaced, at any depth.
 */

const SECRET_KEY = /^(password|passwd|secret|clientsecret|client_secret|token|accesstoken|access_token|refreshtoken|refresh_token|authorization|fueloauth|apikey|api_key|apitokens|api_tokens|security|wsse:security)$/i;

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
