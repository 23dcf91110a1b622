import { parseSfmcDate } from '../sfmc/time.js';
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

export interface FilterOptions {
  /** The account's Incoming Date Normalization (SandboxOptions.dateNormalization). */
  dateNormalization: boolean;
}

const ZONE = /(Z|[+-]\d{2}:?\d{2})$/i;

/**
 * A dateTime filter value, as SFMC reads it (docs: Incoming Date Normalization). An unzoned value
 * is server time, CST (UTC-6, no daylight saving). With normalization on, a `Z` or offset is
 * honoured; with it off, the zone is ignored and the wall clock is read as CST, so
 * `09:00:00Z` means 15:00Z: a window built from it starts six hours late.
 */
export function parseDateValue(text: string, options: FilterOptions = { dateNormalization: true }): number {
  const trimmed = text.trim();
  const ms = parseSfmcDate(options.dateNormalization ? trimmed : trimmed.replace(ZONE, ''));
  if (ms === undefined) throw new FilterError(`'${text}' is not a valid date`);
  return ms;
}

function idEquals(a: FieldValue, b: string): boolean {
  if (a === undefined) return false;
  const s = String(a);
  // Ids are ints on the wire; "0123" and "123" name the same list.
  if (/^\d+$/.test(s) && /^\d+$/.test(b.trim())) return BigInt(s) === BigInt(b.trim());
  return s === b;
}

function simple<T>(part: unknown, fields: FilterFields<T>, objectType: string, options: FilterOptions): Predicate<T> {
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
    const bound = parseDateValue(value, options);
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
export function compileFilter<T>(
  filter: unknown,
  fields: FilterFields<T>,
  objectType: string,
  options: FilterOptions = { dateNormalization: true },
): Predicate<T> {
  if (filter === undefined || filter === '') return () => true;
  const type = xsiTypeOf(filter);
  if (type === 'SimpleFilterPart') return simple(filter, fields, objectType, options);
  if (type === 'ComplexFilterPart') {
    const op = textOf(child(filter, 'LogicalOperator'));
    const operands = [
      child(filter, 'LeftOperand'),
      child(filter, 'RightOperand'),
      ...children(child(filter, 'AdditionalOperands'), 'Operand'),
    ].filter((o) => o !== undefined);
    const parts = operands.map((o) => compileFilter(o, fields, objectType, options));
    if (op === 'AND') return (r) => parts.every((p) => p(r));
    if (op === 'OR') return (r) => parts.some((p) => p(r));
    throw new FilterError(`LogicalOperator '${op ?? ''}' is not supported`);
  }
  throw new FilterError(`Filter type '${type ?? '(none)'}' is not supported; use xsi:type SimpleFilterPart or ComplexFilterPart`);
}
