import type { Row } from '../../src/engine/warehouse.js';

/**
 * Values as two engines can be expected to agree on them: JSON object texts with their keys sorted (an aggregated
 * object's key order is the engine's), and doubles to 12 significant digits (sums in another order differ in the
 * last bits). Arrays and plain objects are compared member by member.
 *
 * @example
 * comparable('{"b":1,"a":2}') // '{"a":2,"b":1}'
 */
export function comparable(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? value : Number(value.toPrecision(12));
  if (Array.isArray(value)) return value.map(comparable);
  if (value instanceof Date || value === null || typeof value !== 'object') {
    if (typeof value !== 'string' || !value.startsWith('{')) return value;
    try {
      return JSON.stringify(sortedKeys(JSON.parse(value)));
    } catch {
      return value;
    }
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, comparable(v)]));
}

function sortedKeys(v: unknown): unknown {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  return Object.fromEntries(
    Object.entries(v)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, x]) => [k, sortedKeys(x)]),
  );
}

/** Rows with every value made `comparable`. */
export function comparableRows(rows: readonly Row[]): Row[] {
  return rows.map((r) => comparable(r) as Row);
}
