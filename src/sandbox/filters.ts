import { textOf } from '../sfmc/xml.js';
import { child, children, xsiTypeOf } from './envelope.js';

/**
 * Retrieve filters. Each object type declares which properties it can be filtered on and with
 * which operators; anything else is refused the way SFMC refuses it: in OverallStatus, as
 * `Error: ...`, with HTTP 200.
 */

export type FieldValue = string | number | undefined;

export interface FilterField<T> {
  kind: 'id' | 'string' | 'date';
  get(record: T): FieldValue;
  operators: string[];
}

export type FilterFields<T> = Record<string, FilterField<T>>;

export class FilterError extends Error {
  override name = 'FilterError';
}

export type Predicate<T> = (record: T) => boolean;

/**
 * A dateTime filter value. An unzoned value is read as UTC: SFMC itself reads it in the account's
 * time zone (UNVERIFIED which one), and the sandbox keeps every date in UTC.
 */
export function parseDateValue(text: string): number {
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(text) ? text : `${text}Z`;
  const ms = Date.parse(zoned);
  if (Number.isNaN(ms)) throw new FilterError(`'${text}' is not a valid date`);
  return ms;
}

function idEquals(a: FieldValue, b: string): boolean {
  if (a === undefined) return false;
  const s = String(a);
  // Ids are ints on the wire; "0123" and "123" name the same list.
  if (/^\d+$/.test(s) && /^\d+$/.test(b.trim())) return BigInt(s) === BigInt(b.trim());
  return s === b;
}

function simple<T>(part: unknown, fields: FilterFields<T>, objectType: string): Predicate<T> {
  const property = textOf(child(part, 'Property')) ?? '';
  const operator = textOf(child(part, 'SimpleOperator')) ?? '';
  const field = Object.hasOwn(fields, property) ? fields[property] : undefined;
  if (!field) throw new FilterError(`The sandbox cannot filter ${objectType} on property '${property}'`);
  if (!field.operators.includes(operator)) {
    throw new FilterError(`The sandbox cannot filter ${objectType}.${property} with operator '${operator}'`);
  }
  const values = [...children(part, 'Value'), ...children(part, 'DateValue')].map((v) => textOf(v) ?? '');
  const value = values[0];
  if (value === undefined) throw new FilterError(`Filter on ${property} has no Value or DateValue`);

  if (field.kind === 'date') {
    const bound = parseDateValue(value);
    const cmp: Record<string, (a: number) => boolean> = {
      equals: (a) => a === bound,
      greaterThan: (a) => a > bound,
      greaterThanOrEqual: (a) => a >= bound,
      lessThan: (a) => a < bound,
      lessThanOrEqual: (a) => a <= bound,
    };
    const test = cmp[operator];
    if (!test) throw new FilterError(`Operator '${operator}' is not supported for dates`);
    return (r) => {
      const v = field.get(r);
      return typeof v === 'number' && test(v);
    };
  }
  if (operator === 'equals') {
    return field.kind === 'id' ? (r) => idEquals(field.get(r), value) : (r) => field.get(r) === value;
  }
  if (operator === 'IN') {
    return (r) => values.some((v) => (field.kind === 'id' ? idEquals(field.get(r), v) : field.get(r) === v));
  }
  throw new FilterError(`Operator '${operator}' is not supported`);
}

/** Compiles a parsed `Filter` element; no filter means everything matches. */
export function compileFilter<T>(filter: unknown, fields: FilterFields<T>, objectType: string): Predicate<T> {
  if (filter === undefined || filter === '') return () => true;
  const type = xsiTypeOf(filter);
  if (type === 'SimpleFilterPart') return simple(filter, fields, objectType);
  if (type === 'ComplexFilterPart') {
    const op = textOf(child(filter, 'LogicalOperator'));
    const operands = [
      child(filter, 'LeftOperand'),
      child(filter, 'RightOperand'),
      ...children(child(filter, 'AdditionalOperands'), 'Operand'),
    ].filter((o) => o !== undefined);
    const parts = operands.map((o) => compileFilter(o, fields, objectType));
    if (op === 'AND') return (r) => parts.every((p) => p(r));
    if (op === 'OR') return (r) => parts.some((p) => p(r));
    throw new FilterError(`LogicalOperator '${op ?? ''}' is not supported`);
  }
  throw new FilterError(`Filter type '${type ?? '(none)'}' is not supported; use xsi:type SimpleFilterPart or ComplexFilterPart`);
}
