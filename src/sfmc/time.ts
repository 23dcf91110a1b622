/**
 * SFMC's clock, in one place. Every date the project sends to SFMC or reads from it goes through
 * here, so the time zone rule is written once.
 *
 * SFMC's "system time" is North American Central Standard Time, UTC-6, with no daylight saving
 * (AMPscript SystemDateToLocalDate / SSJS LocalDateToSystemDate docs, developer.salesforce.com).
 * Dates SFMC returns (Send.SendDate, ImportResultsSummary.StartDate) are that wall clock with no
 * offset. Dates it receives are read by "Incoming Date Normalization" (docs page of that name):
 * a `Z` or an offset is honoured and an unzoned value is server time, but an account can have
 * normalization turned off ("contact your representative to disable this feature"), and then
 * only the wall clock counts. An unzoned CST wall clock means the same instant in both modes,
 * so that is what `toSfmcWallClock` writes.
 */

/** UTC-6 all year: SFMC's server clock does not follow daylight saving. */
export const SFMC_UTC_OFFSET_MINUTES = -360;

const OFFSET_MS = SFMC_UTC_OFFSET_MINUTES * 60_000;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * `2026-12-01T03:08:33` for 09:08:33Z: SFMC server time, whole seconds, no offset. Seconds are
 * floored, so a lower bound built from it never starts later than the instant given.
 */
export function toSfmcWallClock(date: Date | number): string {
  const ms = typeof date === 'number' ? date : date.getTime();
  if (!Number.isFinite(ms)) throw new TypeError('an SFMC date must be a valid Date');
  const wall = new Date(Math.floor(ms / 1000) * 1000 + OFFSET_MS);
  return (
    `${pad(wall.getUTCFullYear(), 4)}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())}` +
    `T${pad(wall.getUTCHours())}:${pad(wall.getUTCMinutes())}:${pad(wall.getUTCSeconds())}`
  );
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;
// The US form the SFMC UI and some API fields print (`12/1/2026 3:08:33 AM`); UNVERIFIED which
// fields use it, so both forms are read.
const US = /^(\d{1,2})\/(\d{1,2})\/(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(AM|PM)?$/i;

/**
 * Epoch ms of a date SFMC wrote. No offset means SFMC server time (CST); an explicit `Z` or offset
 * is honoured. undefined for empty or unreadable text: a caller must not guess an instant.
 */
export function parseSfmcDate(text: string | undefined): number | undefined {
  const t = text?.trim();
  if (!t) return undefined;
  const iso = ISO.exec(t);
  if (iso) {
    const [, y, mo, d, h, mi, s, frac, zone] = iso;
    const wall = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +(s ?? 0), Math.floor(Number(`0.${frac ?? 0}`) * 1000));
    if (+h! > 23 || +mi! > 59 || +(s ?? 0) > 59) return undefined;
    return valid(wall, [+y!, +mo!, +d!], zone === undefined ? -OFFSET_MS : -zoneOffsetMs(zone));
  }
  const us = US.exec(t);
  if (us) {
    const [, mo, d, y, h, mi, s, meridiem] = us;
    let hour = +h!;
    if (meridiem) {
      if (hour < 1 || hour > 12) return undefined;
      hour = (hour % 12) + (meridiem.toUpperCase() === 'PM' ? 12 : 0);
    }
    if (hour > 23 || +mi! > 59 || +(s ?? 0) > 59) return undefined;
    const wall = Date.UTC(+y!, +mo! - 1, +d!, hour, +mi!, +(s ?? 0));
    return valid(wall, [+y!, +mo!, +d!], -OFFSET_MS);
  }
  return undefined;
}

function zoneOffsetMs(zone: string): number {
  if (zone.toUpperCase() === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
}

/** Refuses 2023-02-30, which Date.UTC would roll over into March. */
function valid(wallMs: number, [y, mo, d]: number[], toUtcMs: number): number | undefined {
  const check = new Date(wallMs);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() + 1 !== mo || check.getUTCDate() !== d) return undefined;
  return wallMs + toUtcMs;
}
