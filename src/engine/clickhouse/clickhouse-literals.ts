import type { SqlValue } from '../values.js';

/**
 * Bound values for ClickHouse. The warehouse's SQL carries `?` or `$n` placeholders (DuckDB's style); ClickHouse's own
 * parameters (`{name:Type}`) need a type per value that the callers never state, so each value is written into the
 * statement as a literal instead, escaped here and only here. Quotes, backslashes and control characters cannot end
 * a literal early: a string literal is written with every `'` and `\` escaped.
 */

/**
 * A string as a ClickHouse string literal.
 *
 * @example
 * stringLiteral("it's") // "'it\\'s'"
 */
export function stringLiteral(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/**
 * A Date as ClickHouse's DateTime64 text in UTC, with milliseconds (what a JavaScript Date holds).
 *
 * @example
 * dateTimeText(new Date(0)) // '1970-01-01 00:00:00.000'
 */
export function dateTimeText(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new RangeError('an invalid Date cannot be bound as a parameter');
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`
  );
}

/**
 * One value as a ClickHouse literal.
 *
 * @example
 * sqlLiteral("it's") // "'it\\'s'"
 * sqlLiteral(new Date(0)) // "toDateTime64('1970-01-01 00:00:00.000', 3, 'UTC')"
 */
export function sqlLiteral(value: SqlValue): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return stringLiteral(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'bigint') return value < 0n ? `(${value})` : String(value);
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'nan';
    if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
    // Parenthesised so that `x - ?` never reads as `x --5` (a comment).
    return value < 0 || Object.is(value, -0) ? `(${value})` : String(value);
  }
  return `toDateTime64(${stringLiteral(dateTimeText(value))}, 3, 'UTC')`;
}

/**
 * Replace the placeholders of a statement (`?` in order, or `$1`, `$2`, … by number) with literals of the values,
 * leaving string literals, quoted identifiers and comments untouched.
 *
 * @example
 * bindLiterals('SELECT * FROM t WHERE a = ? AND b = \'?\'', [1]) // "SELECT * FROM t WHERE a = 1 AND b = '?'"
 */
export function bindLiterals(sql: string, params: readonly SqlValue[]): string {
  if (params.length === 0) return sql;
  let out = '';
  let next = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === '`') {
      // Quoted text: ClickHouse escapes with a backslash or by doubling the quote.
      let j = i + 1;
      while (j < n) {
        if (sql[j] === '\\') j += 2;
        else if (sql[j] === c) {
          if (sql[j + 1] === c) j += 2;
          else break;
        } else j++;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? n : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      const stop = end === -1 ? n : end + 2;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '?') {
      if (next >= params.length)
        throw new RangeError(`the statement has more placeholders than its ${params.length} values`);
      out += sqlLiteral(params[next++]!);
      i++;
    } else if (c === '$' && /[0-9]/.test(sql[i + 1] ?? '')) {
      let j = i + 1;
      while (j < n && /[0-9]/.test(sql[j]!)) j++;
      const index = Number(sql.slice(i + 1, j)) - 1;
      if (index < 0 || index >= params.length) {
        throw new RangeError(
          `placeholder ${sql.slice(i, j)} has no value (the statement has ${params.length})`,
        );
      }
      out += sqlLiteral(params[index]!);
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/**
 * A setting's value as SQL text for `SET name = value`: numbers as they are, text quoted.
 *
 * @example
 * quoteSettingValue('UTC') // "'UTC'"
 */
export function quoteSettingValue(value: string | number): string {
  return typeof value === 'number' ? String(value) : stringLiteral(value);
}
