import { el, type XmlNode } from '../sfmc/xml.js';
import { API_OBJECT_PROPERTIES } from './operations/context.js';

/** Turning parsed request objects back into XML for the `Object` echoes SFMC puts in results. */

type Parsed = Record<string, unknown>;

/** APIObject's own sequence; subtype fields all come after it. */
const API_OBJECT_FIELDS = API_OBJECT_PROPERTIES;

function localName(value: string): string {
  return value.includes(':') ? value.slice(value.indexOf(':') + 1) : value;
}

/**
 * Parsed value (fast-xml-parser output, attributes as `@_x`, prefixes stripped) to an element.
 * xsi:type keeps only its local name: in the response the partner namespace is the default one.
 */
export function toNode(name: string, value: unknown): XmlNode[] {
  if (Array.isArray(value)) return value.flatMap((v) => toNode(name, v));
  if (value === null || value === undefined) return [el(name)];
  if (typeof value !== 'object') return [el(name, String(value))];
  const obj = value as Parsed;
  const attrs: Record<string, string> = {};
  if (typeof obj['@_type'] === 'string') attrs['xsi:type'] = localName(obj['@_type']);
  if (obj['@_nil'] === 'true') attrs['xsi:nil'] = 'true';
  const kids: XmlNode[] = [];
  for (const [key, v] of Object.entries(obj)) {
    if (key.startsWith('@_') || key === '#text') continue;
    kids.push(...toNode(key, v));
  }
  const text = typeof obj['#text'] === 'string' ? obj['#text'] : undefined;
  if (kids.length > 0) return [el(name, attrs, kids)];
  return [el(name, attrs, text ?? '')];
}

/**
 * A copy of a parsed APIObject with one of APIObject's fields set, placed where the schema
 * sequence puts it (e.g. ObjectID after ID and before CustomerKey).
 */
export function withApiField(obj: Parsed, field: string, value: unknown): Parsed {
  const rank = API_OBJECT_FIELDS.indexOf(field);
  const out: Parsed = {};
  let placed = false;
  for (const [key, v] of Object.entries(obj)) {
    if (key === field) continue;
    if (!placed && !key.startsWith('@_') && key !== '#text') {
      // A field outside APIObject's list belongs to the subtype, which comes after all of it.
      const keyRank = API_OBJECT_FIELDS.indexOf(key);
      if (keyRank === -1 || keyRank > rank) {
        out[field] = value;
        placed = true;
      }
    }
    out[key] = v;
  }
  if (!placed) out[field] = value;
  return out;
}

/** Keeps only the requested top-level properties (`Email.ID` asks for `Email`); all when none asked. */
export function pickProperties(obj: Parsed, properties: string[], always: string[] = []): Parsed {
  if (properties.length === 0) return obj;
  const wanted = new Set([...properties.map((p) => p.split('.')[0] ?? p), ...always]);
  const out: Parsed = {};
  for (const [key, v] of Object.entries(obj)) {
    if (key.startsWith('@_') || wanted.has(key)) out[key] = v;
  }
  return out;
}
