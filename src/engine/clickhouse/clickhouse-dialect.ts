import type { ColumnType, Dialect, FileColumns, TableDef } from '../dialect.js';
import { stringLiteral } from './clickhouse-literals.js';

/**
 * Column types. Timestamps keep microseconds in UTC, as DuckDB's TIMESTAMP does; JSON is stored as its text (String),
 * which every ClickHouse version reads with the JSON* functions, so no experimental type is needed.
 */
const COLUMN_TYPES: Record<ColumnType, string> = {
  text: 'String',
  timestamp: "DateTime64(6, 'UTC')",
  double: 'Float64',
  bigint: 'Int64',
  integer: 'Int32',
  boolean: 'Bool',
  json: 'String',
};

function quoteIdent(name: string): string {
  return `"${name.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/**
 * A column's type, Nullable unless declared NOT NULL (SQL's default, which segflow's code assumes).
 *
 * @example
 * clickhouseColumnType('timestamp') // "Nullable(DateTime64(6, 'UTC'))"
 */
export function clickhouseColumnType(type: ColumnType, notNull = false): string {
  return notNull ? COLUMN_TYPES[type] : `Nullable(${COLUMN_TYPES[type]})`;
}

/**
 * The keys of a JSON path literal we build (`'$'`, `'$."a"."b"'`, `'$[0]'`) as arguments of ClickHouse's JSON*
 * functions (object keys as strings, array items 1-based). A bound path (a literal written in at run time, e.g. `$3`
 * or `?`) is a single quoted key `$."key"`: its key is cut out of the text in SQL.
 */
function jsonKeys(path: string): string[] {
  const literal = /^'(.*)'$/s.exec(path);
  if (!literal) {
    return [`replaceAll(replaceRegexpOne(${path}, '^\\\\$\\\\."(.*)"$', '\\\\1'), '\\\\"', '"')`];
  }
  const text = literal[1]!;
  if (!text.startsWith('$')) throw new Error(`jsonPath ${path} must start with $`);
  const keys: string[] = [];
  const segment = /\.(?:"((?:[^"\\]|\\.)*)"|([A-Za-z0-9_]+))|\[(\d+)\]/y;
  segment.lastIndex = 1;
  while (segment.lastIndex < text.length) {
    const m = segment.exec(text);
    if (!m) throw new Error(`cannot read JSON path ${path} (write keys as ."key" and items as [n])`);
    if (m[3] !== undefined) keys.push(String(Number(m[3]) + 1));
    else keys.push(stringLiteral((m[1] ?? m[2])!.replaceAll('\\"', '"')));
  }
  return keys;
}

const args = (expr: string, keys: readonly string[]) => [expr, ...keys].join(', ');

/** JSON text of `value` for building objects: JSON columns (already text that parses) are embedded as they are. */
function jsonOf(value: string): string {
  return `toJSONString(${value})`;
}

function objectOf(pairs: readonly (readonly [key: string, valueExpr: string])[]): string {
  if (pairs.length === 0) return `'{}'`;
  const members = pairs.map(([k, v]) => `toJSONString(${k}), ':', ${jsonOf(v)}`);
  return `concat('{', ${members.join(", ',', ")}, '}')`;
}

/** One `file()` argument list: the path placeholder, a format and optionally a structure. */
const file = (path: string, format: string, structure?: string) =>
  `file(${path}, '${format}'${structure ? `, ${stringLiteral(structure)}` : ''})`;

/**
 * The SETTINGS clause that reads CSV fields separated by `delimiter` (one character: ClickHouse takes no longer one).
 *
 * @example
 * csvDelimiterSetting(';') // "SETTINGS format_csv_delimiter = ';'"
 */
export function csvDelimiterSetting(delimiter: string): string {
  return `SETTINGS format_csv_delimiter = ${stringLiteral(delimiter)}`;
}

/**
 * The fields of an NDJSON line (a String column `line`) as the reader of DuckDB gives them, for `readNdjson` and for
 * lines sent to a server (clickhouse-file-upload.ts). ClickHouse's JSON reader hands a String column a JSON string's
 * text without its quotes, so the kind of value is lost; each line is read whole instead and every field taken from
 * it: JSON columns as minified JSON, a JSON null as SQL NULL, a line that is not an object as a row of NULLs.
 *
 * @example
 * ndjsonFields({ type: 'json' }) // "nullIf(nullIf(JSONExtractRaw(line, 'type'), ''), 'null') AS \"type\""
 */
export function ndjsonFields(columns: FileColumns): string {
  return Object.entries(columns)
    .map(([name, type]) => {
      const raw = `nullIf(nullIf(JSONExtractRaw(line, ${stringLiteral(name)}), ''), 'null')`;
      const value =
        type === 'json'
          ? raw
          : type === 'text'
            ? `if(startsWith(${raw}, '"'), JSONExtractString(line, ${stringLiteral(name)}), ${raw})`
            : `CAST(${raw} AS ${clickhouseColumnType(type)})`;
      return `${value} AS ${quoteIdent(name)}`;
    })
    .join(', ');
}

/**
 * ClickHouse's SQL (26.x; the embedded engine chdb runs the same). The warehouse sets the session to SQL's
 * semantics where ClickHouse differs by default (outer joins yield NULLs, UNION is DISTINCT, UTC): see
 * `CLICKHOUSE_SESSION_SETTINGS`.
 *
 * @example
 * clickhouseDialect.jsonText('properties', `'$."plan"'`) // multiIf(JSONType(properties, 'plan') = 'String', …)
 */
export const clickhouseDialect: Dialect = {
  name: 'clickhouse',
  quoteIdent,
  textLiteral: stringLiteral,
  columnType: (type) => COLUMN_TYPES[type],
  createTable(def: TableDef): string {
    const key = new Set(def.primaryKey ?? []);
    const cols = def.columns.map(
      (c) => `${quoteIdent(c.name)} ${clickhouseColumnType(c.type, c.notNull || key.has(c.name))}`,
    );
    // A keyed table replaces rows by key (the latest insert wins; reads use FINAL, set for the session), which is
    // how the upsert and update ports write; the block columns allow lightweight UPDATE/DELETE.
    const engine = key.size
      ? `ReplacingMergeTree ORDER BY (${[...key].map(quoteIdent).join(', ')})`
      : 'MergeTree ORDER BY tuple()';
    return (
      `CREATE TABLE IF NOT EXISTS ${quoteIdent(def.name)} (${cols.join(', ')}) ENGINE = ${engine} ` +
      'SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1'
    );
  },
  jsonText(expr, path) {
    const a = args(expr, jsonKeys(path));
    return `multiIf(JSONType(${a}) = 'String', JSONExtractString(${a}), JSONType(${a}) = 'Null', NULL, JSONExtractRaw(${a}))`;
  },
  jsonValue(expr, path) {
    const keys = jsonKeys(path);
    if (keys.length === 0) return `if(isValidJSON(${expr}), ${expr}, NULL)`;
    const a = args(expr, keys);
    return `if(JSONHas(${a}), JSONExtractRaw(${a}), NULL)`;
  },
  jsonKind: (expr) =>
    `multiIf(${expr} IS NULL, NULL, JSONType(${expr}) = 'String', 'string', JSONType(${expr}) IN ('Int64', 'UInt64', 'Double'), 'number', ` +
    `JSONType(${expr}) = 'Bool', 'boolean', JSONType(${expr}) = 'Object', 'object', JSONType(${expr}) = 'Array', 'array', 'null')`,
  jsonKindOfSerialized: (expr) =>
    `multiIf(${expr} IS NULL, NULL, startsWith(${expr}, '"'), 'string', startsWith(${expr}, '{'), 'object', ` +
    `startsWith(${expr}, '['), 'array', startsWith(${expr}, 't') OR startsWith(${expr}, 'f'), 'boolean', ` +
    `startsWith(${expr}, 'n'), 'null', 'number')`,
  jsonTextContains: (expr, needle) => `(position(${expr}, ${stringLiteral(needle)}) > 0)`,
  jsonLength: (expr) => `lengthUTF8(${expr})`,
  parseTimestamp: (expr) => `parseDateTime64BestEffortOrNull(toString(${expr}), 6, 'UTC')`,
  toDouble: (expr) => `toFloat64OrNull(toString(${expr}))`,
  compactArray: (exprs) => `arrayFilter(x -> x IS NOT NULL, [${exprs.join(', ')}])`,
  arrayLength: (expr) => `length(${expr})`,
  concatArrays: (first, second) => `arrayConcat(ifNull(${first}, []), ${second})`,
  parseTimestampFormat: (expr, format) =>
    `toDateTime64(parseDateTimeOrNull(${expr}, ${format}, 'UTC'), 6, 'UTC')`,
  // The values are JSON texts already (toJsonValue's, or JSON columns): embedded as they are, NULL as null, as
  // DuckDB's json_object embeds JSON values.
  jsonObjectOf: (pairs) =>
    pairs.length === 0
      ? `'{}'`
      : `concat('{', ${pairs.map(([k, v]) => `toJSONString(${k}), ':', ifNull(${v}, 'null')`).join(", ',', ")}, '}')`,
  // toString writes all six digits of the fraction; DuckDB drops trailing zeros (and the point of a whole second).
  timestampText: (expr) =>
    `replaceRegexpOne(replaceRegexpOne(toString(toDateTime64(${expr}, 6, 'UTC')), '0+$', ''), '\\.$', '')`,
  isoText: (expr) =>
    `concat(formatDateTime(${expr}, '%Y-%m-%dT%H:%i:%S', 'UTC'), '.', leftPad(toString(toUnixTimestamp64Milli(${expr}) % 1000), 3, '0'), 'Z')`,
  // Numbers written as DuckDB's to_json writes them, since derived message ids digest this text: 64-bit integers bare
  // (toJSONString follows the session's output_format_json_quote_64bit_integers, set so that results reach
  // JavaScript exactly, and would quote them), whole doubles with a `.0` (81.0, not 81) and no negative zero.
  toJsonValue: (expr) =>
    `multiIf(match(toTypeName(${expr}), 'Int(64|128|256)'), ifNull(toString(${expr}), 'null'),
      match(toTypeName(${expr}), 'Float'),
      replaceRegexpOne(replaceRegexpOne(toJSONString(${expr}), '^-0$', '0'), '^(-?[0-9]+)$', '\\\\1.0'),
      toJSONString(${expr}))`,
  rowNumber: () => `(rowNumberInAllBlocks() + 1)`,
  splitWhitespace: (expr) => `splitByRegexp('\\\\s+', trimBoth(${expr}))`,
  hashHex: (expr) => `lower(hex(MD5(${expr})))`,
  hash64: (expr) => `cityHash64(${expr})`,
  sha256Hex: (expr) => `lower(hex(SHA256(${expr})))`,
  argMax: (value, by) => `argMax(${value}, ${by})`,
  argMin: (value, by) => `argMin(${value}, ${by})`,
  // A one-element tuple is never NULL, so the latest row wins even when its value is NULL.
  latestValue: (value, ts, tiebreak, filter) =>
    `tupleElement(argMaxIf(tuple(${value}), (${ts}, ${tiebreak}), ${filter}), 1)`,
  // A comparison is a UInt8 (0/1) in ClickHouse; toBool makes the result a Bool, read as true/false like DuckDB's.
  boolOr: (expr) => `toBool(max(toUInt8(${expr})) = 1)`,
  boolAnd: (expr) => `toBool(min(toUInt8(${expr})) = 1)`,
  joinText: (separator, exprs) =>
    `arrayStringConcat(arrayFilter(x -> x IS NOT NULL, [${exprs.map((e) => `toNullable(toString(${e}))`).join(', ')}]), ${stringLiteral(separator)})`,
  jsonObjectAgg: (key, value) =>
    `concat('{', arrayStringConcat(groupArray(concat(toJSONString(toString(${key})), ':', ${value})), ','), '}')`,
  jsonObject: (pairs) => objectOf(pairs.map(([k, v]) => [stringLiteral(k), v] as const)),
  jsonEachSource: (expr) => `(SELECT arrayJoin(JSONExtractKeys(ifNull(${expr}, ''))) AS key) AS k`,
  skewCorrected: (received, sent, original) =>
    `fromUnixTimestamp64Micro(toUnixTimestamp64Micro(${received}) - (toUnixTimestamp64Micro(${sent}) - toUnixTimestamp64Micro(${original})), 'UTC')`,
  textIsJsonObject: (expr) => `ifNull(isValidJSON(${expr}) AND JSONType(${expr}) = 'Object', false)`,
  textIsJson: (expr) => `isValidJSON(${expr})`,
  jsonFieldList: (expr, fields) =>
    `[${fields.map((f) => `if(JSONHas(${expr}, ${stringLiteral(f)}), JSONExtractRaw(${expr}, ${stringLiteral(f)}), NULL)`).join(', ')}]`,
  splitText: (expr, separator) => `splitByChar(${stringLiteral(separator)}, ${expr})`,
  timestampFromMicros: (expr) => `fromUnixTimestamp64Micro(toInt64(${expr}), 'UTC')`,
  listItem: (expr, index) => `arrayElement(${expr}, ${index + 1})`,
  nullIfJsonNull: (expr) => `if(JSONType(${expr}) = 'Null', NULL, ${expr})`,
  toJson: (expr) => `toJSONString(${expr})`,
  textContains: (expr, needle) => `(position(${expr}, ${needle}) > 0)`,
  unitHash: (textExpr) => `(reinterpretAsUInt32(reverse(substring(MD5(${textExpr}), 1, 4))) / 4294967296.0)`,
  rowsFingerprint: (exprs) => `toString(groupBitXor(cityHash64(${exprs.join(', ')})))`,
  epochMs: (expr) => `toUnixTimestamp64Milli(${expr})`,
  jsonArrayAgg(expr, filter, options) {
    const where = `(${filter}) AND (${expr}) IS NOT NULL`;
    const values = options?.distinct
      ? `groupUniqArrayIf(${expr}, ${where})`
      : `groupArrayIf(${expr}, ${where})`;
    // No rows give NULL, as DuckDB's list() does, rather than an empty array.
    return `if(countIf(${where}) = 0, NULL, toJSONString(arraySort(${values})))`;
  },
  // ClickHouse rewrites the clause to its -If combinator (count(*) to countIf), and the session's
  // aggregate_functions_null_for_empty keeps SQL's NULL over no matching rows where sumIf, maxIf… alone give 0.
  aggregateIf: (aggregate, condition) => `${aggregate} FILTER (WHERE ${condition})`,
  // quantileExactInclusive interpolates linearly between the neighbouring values, as DuckDB's quantile_cont does.
  median: (expr) => `quantileExactInclusive(0.5)(toFloat64(${expr}))`,
  quantile(expr, fraction) {
    if (!(fraction >= 0 && fraction <= 1)) throw new Error(`quantile: fraction ${fraction} is not in [0, 1]`);
    return `quantileExactInclusive(${fraction})(toFloat64(${expr}))`;
  },
  allColumnsExcept: (columns) => `* EXCEPT (${columns.map(quoteIdent).join(', ')})`,
  // ClickHouse inlines CTEs; there is no keyword to compute one once.
  materialized: () => '',
  dayOf: (expr) => `toDate(${expr}, 'UTC')`,
  power: (base, exponent) => `pow(${base}, ${exponent})`,
  jsonArrayHas: (array, value) =>
    `toBool(has(JSONExtract(ifNull(${array}, '[]'), 'Array(Nullable(String))'), ${value}))`,
  plusMs: (expr, ms) => `addMilliseconds(${expr}, ${Math.trunc(ms)})`,
  nextRowJoin: ({ left, right, on, leftTime, rightTime, outer }) =>
    `${left} ASOF ${outer ? 'LEFT ' : ''}JOIN ${right} ON ${on} AND ${leftTime} < ${rightTime}`,
  previousRowJoin: ({ left, right, on, leftTime, rightTime }) =>
    `${left} ASOF JOIN ${right} ON ${on} AND ${leftTime} > ${rightTime}`,
  // Named tuple elements read as `alias.key` and `alias.value`, as the columns of DuckDB's rendering do.
  jsonMembersJoin: (left, object, alias) =>
    `${left} ARRAY JOIN CAST(JSONExtractKeysAndValuesRaw(ifNull(${object}, '')) AS Array(Tuple(key String, value String))) AS ${alias}`,
  dayStart: (expr) => `toDateTime64(toStartOfDay(${expr}, 'UTC'), 6, 'UTC')`,
  epochSeconds: (expr) => `(toUnixTimestamp64Micro(${expr}) / 1000000.0)`,
  now: () => `now64(6, 'UTC')`,
  readNdjson(path: string, columns: FileColumns): string {
    if (Object.keys(columns).length === 0) return file(path, 'JSONEachRow');
    return `(SELECT ${ndjsonFields(columns)} FROM ${file(path, 'LineAsString', 'line String')})`;
  },
  readCsvLines: (path) => file(path, 'LineAsString', 'line String'),
  // The delimiter is a format setting in ClickHouse: set on a subquery of its own, it applies to this reader only.
  readCsv: (path, { header, delimiter }) => {
    const reader = file(path, header ? 'CSVWithNames' : 'CSV');
    return delimiter ? `(SELECT * FROM ${reader} ${csvDelimiterSetting(delimiter)})` : reader;
  },
  readParquet: (path) => file(path, 'Parquet'),
  toTimestamp: (expr) => `toDateTime64(${expr}, 6, 'UTC')`,
  // cast_keep_nullable (a session setting) keeps a NULL a NULL.
  asColumnType: (expr, type) => `CAST(${expr} AS ${COLUMN_TYPES[type]})`,
  noTextList: () => 'CAST([] AS Array(Nullable(String)))',
  inTextList: (expr, placeholder) =>
    `${expr} IN (SELECT arrayJoin(JSONExtract(${placeholder}, 'Array(String)')))`,
};
