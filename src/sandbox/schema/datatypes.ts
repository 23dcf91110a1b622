// Built-in XSD simple types and the facet checks user simple types add on top.
// Lexical rules follow XML Schema 1.0 Part 2 as libxml2 applies them, quirks included,
// because the sandbox must refuse exactly what xmllint refuses (each rule was checked
// against xmllint-wasm): 5-digit and negative years are fine, year 0000 and 2023-02-29
// are not, 24:00:00 is, time zones stop at ±14:00; date, dateTime and duration values
// may not carry surrounding whitespace (the spec says collapse it), except that a time
// may start with some and a dateTime ending in a time zone may end with some; and
// base64Binary skips characters outside its alphabet (as RFC 2045 decoders do).

export const XSD_NS = 'http://www.w3.org/2001/XMLSchema';

export type WhiteSpace = 'preserve' | 'replace' | 'collapse';

export interface Pattern {
  readonly source: string;
  readonly re: RegExp;
}

export interface SimpleType {
  readonly kind: 'simple';
  readonly ns: string;
  /** '' when anonymous. */
  readonly name: string;
  /** null only for anySimpleType. */
  base: SimpleType | null;
  whiteSpace: WhiteSpace;
  /** Set on built-ins only; derived types are checked by their nearest built-in ancestor. */
  readonly lexical: ((value: string) => boolean) | null;
  enumeration: string[] | null;
  patterns: Pattern[];
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
const FLOAT = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|-?INF|NaN)$/;
const TZ = '(Z|[+-]\\d\\d:\\d\\d)?';
const DATE = '(-?)(\\d{4,})-(\\d\\d)-(\\d\\d)';
const TIME = '(\\d\\d):(\\d\\d):(\\d\\d(?:\\.\\d+)?)';
const DATE_TIME_RE = new RegExp(`^${DATE}T${TIME}${TZ}$`);
const DATE_RE = new RegExp(`^${DATE}${TZ}$`);
const TIME_RE = new RegExp(`^${TIME}${TZ}$`);
const DURATION = /^-?P(?=\d|T\d)(?:\d+Y)?(?:\d+M)?(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$/;
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

function integerIn(min: bigint | null, max: bigint | null): (v: string) => boolean {
  return (v) => {
    if (!INTEGER.test(v)) return false;
    const n = BigInt(v);
    return (min === null || n >= min) && (max === null || n <= max);
  };
}

function validDate(sign: string, year: string, month: string, day: string): boolean {
  if (year.length > 4 && year.startsWith('0')) return false;
  const y = Number(sign + year);
  const m = Number(month);
  const d = Number(day);
  if (y === 0 || m < 1 || m > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = m === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31;
  return d <= days;
}

function validTime(hour: string, minute: string, second: string): boolean {
  const h = Number(hour);
  const m = Number(minute);
  const s = Number(second);
  if (h === 24) return m === 0 && s === 0;
  return h < 24 && m < 60 && s < 60;
}

function validZone(tz: string | undefined): boolean {
  if (tz === undefined || tz === 'Z') return true;
  const h = Number(tz.slice(1, 3));
  const m = Number(tz.slice(4, 6));
  return m < 60 && (h < 14 || (h === 14 && m === 0));
}

function dateTime(v: string): boolean {
  const m = DATE_TIME_RE.exec(v.replace(/(Z|[+-]\d\d:\d\d)[ \t\r\n]+$/, '$1'));
  return !!m && validDate(m[1]!, m[2]!, m[3]!, m[4]!) && validTime(m[5]!, m[6]!, m[7]!) && validZone(m[8]);
}

function date(v: string): boolean {
  const m = DATE_RE.exec(v);
  return !!m && validDate(m[1]!, m[2]!, m[3]!, m[4]!) && validZone(m[5]);
}

function time(v: string): boolean {
  const m = TIME_RE.exec(v);
  return !!m && validTime(m[1]!, m[2]!, m[3]!) && validZone(m[4]);
}

const any = (): boolean => true;
const bits = (n: number): [bigint, bigint] => [-(2n ** BigInt(n - 1)), 2n ** BigInt(n - 1) - 1n];

// name -> [base, whiteSpace, lexical check]
const SPECS: ReadonlyArray<[string, string | null, WhiteSpace, (v: string) => boolean]> = [
  ['anySimpleType', null, 'preserve', any],
  ['string', 'anySimpleType', 'preserve', any],
  ['normalizedString', 'string', 'replace', any],
  ['token', 'normalizedString', 'collapse', any],
  ['boolean', 'anySimpleType', 'collapse', (v) => /^(?:true|false|1|0)$/.test(v)],
  ['decimal', 'anySimpleType', 'collapse', (v) => DECIMAL.test(v)],
  ['integer', 'decimal', 'collapse', integerIn(null, null)],
  ['long', 'integer', 'collapse', integerIn(...bits(64))],
  ['int', 'long', 'collapse', integerIn(...bits(32))],
  ['short', 'int', 'collapse', integerIn(...bits(16))],
  ['byte', 'short', 'collapse', integerIn(...bits(8))],
  ['nonNegativeInteger', 'integer', 'collapse', integerIn(0n, null)],
  ['positiveInteger', 'nonNegativeInteger', 'collapse', integerIn(1n, null)],
  ['nonPositiveInteger', 'integer', 'collapse', integerIn(null, 0n)],
  ['negativeInteger', 'nonPositiveInteger', 'collapse', integerIn(null, -1n)],
  ['unsignedLong', 'nonNegativeInteger', 'collapse', integerIn(0n, 2n ** 64n - 1n)],
  ['unsignedInt', 'unsignedLong', 'collapse', integerIn(0n, 2n ** 32n - 1n)],
  ['unsignedShort', 'unsignedInt', 'collapse', integerIn(0n, 65535n)],
  ['unsignedByte', 'unsignedShort', 'collapse', integerIn(0n, 255n)],
  ['float', 'anySimpleType', 'collapse', (v) => FLOAT.test(v)],
  ['double', 'anySimpleType', 'collapse', (v) => FLOAT.test(v)],
  ['dateTime', 'anySimpleType', 'preserve', dateTime],
  ['date', 'anySimpleType', 'preserve', date],
  ['time', 'anySimpleType', 'preserve', (v) => time(v.replace(/^[ \t\r\n]+/, ''))],
  ['duration', 'anySimpleType', 'preserve', (v) => DURATION.test(v)],
  ['base64Binary', 'anySimpleType', 'collapse', (v) => BASE64.test(v.replace(/[^A-Za-z0-9+/=]/g, ''))],
  ['hexBinary', 'anySimpleType', 'collapse', (v) => HEX.test(v)],
];

/** A fresh set of built-in types keyed by local name (a new set per schema keeps schemas independent). */
export function builtinTypes(): Map<string, SimpleType> {
  const types = new Map<string, SimpleType>();
  for (const [name, base, whiteSpace, lexical] of SPECS) {
    const baseType = base === null ? null : (types.get(base) ?? null);
    types.set(name, { kind: 'simple', ns: XSD_NS, name, base: baseType, whiteSpace, lexical, enumeration: null, patterns: [] });
  }
  return types;
}

/** XSD-only regex syntax: \\i \\c name escapes, \\p{Is...} blocks, [a-z-[aeiou]] class subtraction. */
function hasXsdOnlySyntax(source: string): boolean {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      if (/[icIC]/.test(source[i + 1] ?? '') || /^[pP]\{Is/.test(source.slice(i + 1, i + 5))) return true;
      i++;
    } else if (c === '[') {
      inClass = true;
    } else if (c === ']') {
      inClass = false;
    } else if (inClass && c === '-' && source[i + 1] === '[') {
      return true;
    }
  }
  return false;
}

/** XSD regular expressions are implicitly anchored; the rest of the subset this schema uses is valid JS. */
export function compilePattern(source: string): Pattern {
  if (hasXsdOnlySyntax(source)) throw new Error(`Unsupported XSD pattern syntax: ${source}`);
  return { source, re: new RegExp(`^(?:${source})$`, 'u') };
}

export function normalizeSpace(value: string, whiteSpace: WhiteSpace): string {
  if (whiteSpace === 'preserve') return value;
  const replaced = value.replace(/[\t\n\r]/g, ' ');
  return whiteSpace === 'replace' ? replaced : replaced.replace(/ +/g, ' ').trim();
}

export function typeLabel(type: SimpleType): string {
  if (type.ns === XSD_NS) return `xs:${type.name}`;
  return type.name || 'local atomic type';
}

// Values are echoed into SOAP faults; a megabyte of bad data should not come back whole.
const MAX_SHOWN = 80;

/** A document value quoted for an error message, shortened when long. */
export function shown(value: string): string {
  return value.length > MAX_SHOWN ? `'${value.slice(0, MAX_SHOWN)}...'` : `'${value}'`;
}

/** Why `raw` is not a value of `type`, or null when it is. */
export function simpleValueError(type: SimpleType, raw: string): string | null {
  const value = normalizeSpace(raw, type.whiteSpace);
  let builtin: SimpleType | null = type;
  while (builtin && !builtin.lexical) builtin = builtin.base;
  if (builtin?.lexical && !builtin.lexical(value)) {
    return `${shown(value)} is not a valid value of the atomic type '${typeLabel(type)}'.`;
  }
  for (let t: SimpleType | null = type; t; t = t.base) {
    if (t.enumeration && !t.enumeration.includes(value)) {
      const set = t.enumeration.map((e) => `'${e}'`).join(', ');
      return `[facet 'enumeration'] The value ${shown(value)} is not an element of the set {${set}}.`;
    }
    // Patterns of one restriction step are alternatives; each step must be satisfied.
    if (t.patterns.length > 0 && !t.patterns.some((p) => p.re.test(value))) {
      const source = t.patterns.map((p) => p.source).join('|');
      return `[facet 'pattern'] The value ${shown(value)} is not accepted by the pattern '${source}'.`;
    }
  }
  return null;
}

/** Whether two values are equal after the type's whitespace rule (for fixed values). */
export function sameValue(type: SimpleType, a: string, b: string): boolean {
  return normalizeSpace(a, type.whiteSpace) === normalizeSpace(b, type.whiteSpace);
}
