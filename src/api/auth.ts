import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Credential checks that take the same time whatever the presented value is: both sides are
 * hashed to equal-length digests and compared with timingSafeEqual, against every configured
 * token without stopping at the first match, so neither a token's length, its prefix nor its
 * position in API_TOKENS shows in the response time.
 */

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** True when `presented` equals one of `expected`; the work done does not depend on which, or whether. */
export function matchesAny(presented: string, expected: readonly Buffer[]): boolean {
  const candidate = digest(presented);
  let match = false;
  for (const e of expected) match = timingSafeEqual(candidate, e) || match;
  return match;
}

export function digestAll(values: readonly string[]): Buffer[] {
  return values.map(digest);
}

export type BearerCheck = 'ok' | 'missing' | 'invalid';

/** Checks an `Authorization: Bearer <token>` header against the configured tokens. */
export function bearerChecker(tokens: readonly string[]): (header: string | undefined) => BearerCheck {
  const expected = digestAll(tokens);
  return (header) => {
    const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
    if (!match?.[1]) return header ? 'invalid' : 'missing';
    return matchesAny(match[1], expected) ? 'ok' : 'invalid';
  };
}

/** Checks basic-auth credentials; both parts are always compared, so neither leaks alone. */
export function credentialsChecker(user: string, password: string): (u: string, p: string) => boolean {
  const [expectedUser, expectedPassword] = [digestAll([user]), digestAll([password])];
  return (u, p) => {
    const userOk = matchesAny(u, expectedUser);
    const passwordOk = matchesAny(p, expectedPassword);
    return userOk && passwordOk;
  };
}
