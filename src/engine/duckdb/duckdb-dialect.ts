import type { ColumnType, Dialect, FileColumns, TableDef } from '../dialect.js';

const COLUMN_TYPES: Record<ColumnType, string> = {
  text: 'VARCHAR',
  timestamp: 'TIMESTAMP',
  double: 'DOUBLE',
  bigint: 'BIGINT',
  integer: 'INTEGER',
  boolean: 'BOOLEAN',
  json: 'JSON',
};

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * DuckDB's SQL. Timestamps are stored as TIMESTAMP holding UTC; without the ICU extension DuckDB's TIMESTAMPTZ is
 * UTC, so casting text through it converts any offset to UTC.
 */
export const duckdbDialect: Dialect = {
  name: 'duckdb',
  quoteIdent,
  textLiteral: (text) => `'${text.replaceAll("'", "''")}'`,
  columnType: (type) => COLUMN_TYPES[type],
  createTable(def: TableDef): string {
    const cols = def.columns.map(
      (c) => `${quoteIdent(c.name)} ${COLUMN_TYPES[c.type]}${c.notNull ? ' NOT NULL' : ''}`,
    );
    if (def.primaryKey?.length && def.keyIndexed !== false)
      cols.push(`PRIMARY KEY (${def.primaryKey.map(quoteIdent).join(', ')})`);
    return `CREATE TABLE IF NOT EXISTS ${quoteIdent(def.name)} (${cols.join(', ')})`;
  },
  jsonText: (expr, path) => `json_extract_string(${expr}, ${path})`,
  jsonValue: (expr, path) => `json_extract(${expr}, ${path})`,
  jsonKind: (expr) =>
    `CASE json_type(${expr}) WHEN 'VARCHAR' THEN 'string' WHEN 'BIGINT' THEN 'number' WHEN 'UBIGINT' THEN 'number' ` +
    `WHEN 'DOUBLE' THEN 'number' WHEN 'HUGEINT' THEN 'number' WHEN 'BOOLEAN' THEN 'boolean' WHEN 'OBJECT' THEN 'object' ` +
    `WHEN 'ARRAY' THEN 'array' WHEN 'NULL' THEN 'null' END`,
  // starts_with compares bytes in place; left() would copy the (possibly large) value first.
  jsonKindOfSerialized(expr) {
    const v = `CAST(${expr} AS VARCHAR)`;
    return (
      `CASE WHEN ${expr} IS NULL THEN NULL WHEN starts_with(${v}, '"') THEN 'string' WHEN starts_with(${v}, '{') THEN 'object' ` +
      `WHEN starts_with(${v}, '[') THEN 'array' WHEN starts_with(${v}, 't') OR starts_with(${v}, 'f') THEN 'boolean' ` +
      `WHEN starts_with(${v}, 'n') THEN 'null' ELSE 'number' END`
    );
  },
  jsonTextContains: (expr, needle) => `contains(CAST(${expr} AS VARCHAR), ${sqlString(needle)})`,
  jsonLength: (expr) => `length(CAST(${expr} AS VARCHAR))`,
  parseTimestamp: (expr) => `CAST(TRY_CAST(${expr} AS TIMESTAMPTZ) AS TIMESTAMP)`,
  toDouble: (expr) => `TRY_CAST(${expr} AS DOUBLE)`,
  compactArray: (exprs) => `list_filter([${exprs.join(', ')}], x -> x IS NOT NULL)`,
  arrayLength: (expr) => `len(${expr})`,
  concatArrays: (first, second) => `list_concat(coalesce(${first}, []), ${second})`,
  parseTimestampFormat: (expr, format) => `try_strptime(${expr}, ${format})`,
  jsonObjectOf: (pairs) =>
    pairs.length ? `json_object(${pairs.map(([k, v]) => `${k}, ${v}`).join(', ')})` : `'{}'::JSON`,
  timestampText: (expr) => `CAST(${expr} AS VARCHAR)`,
  isoText: (expr) => `strftime(${expr}, '%Y-%m-%dT%H:%M:%S.%gZ')`,
  toJsonValue: (expr) => `to_json(${expr})`,
  // DuckDB streams ROW_NUMBER() OVER () without materialising, and preserves the reader's order.
  rowNumber: () => `row_number() OVER ()`,
  splitWhitespace: (expr) => `regexp_split_to_array(trim(${expr}), '\\s+')`,
  hashHex: (expr) => `md5(${expr})`,
  // hash(NULL) is a number in DuckDB.
  hash64: (expr) => `CASE WHEN ${expr} IS NOT NULL THEN hash(${expr}) END`,
  sha256Hex: (expr) => `sha256(${expr})`,
  argMax: (value, by) => `arg_max(${value}, ${by})`,
  argMin: (value, by) => `arg_min(${value}, ${by})`,
  boolOr: (expr) => `bool_or(${expr})`,
  boolAnd: (expr) => `bool_and(${expr})`,
  joinText: (separator, exprs) => `concat_ws(${sqlString(separator)}, ${exprs.join(', ')})`,
  jsonObjectAgg: (key, value) => `json_group_object(${key}, ${value})`,
  jsonObject: (pairs) =>
    pairs.length === 0
      ? `'{}'::JSON`
      : `json_object(${pairs.map(([k, v]) => `${sqlString(k)}, ${v}`).join(', ')})`,
  jsonEachSource: (expr) => `(SELECT unnest(json_keys(${expr})) AS key) AS k(key)`,
  skewCorrected: (received, sent, original) => `(${received} - (${sent} - ${original}))`,
  // CASE, not AND: DuckDB evaluates both sides of AND, and the cast fails on text that is not JSON.
  textIsJsonObject: (expr) =>
    `CASE WHEN json_valid(${expr}) THEN json_type(CAST(${expr} AS JSON)) = 'OBJECT' ELSE FALSE END`,
  textIsJson: (expr) => `json_valid(${expr})`,
  jsonFieldList: (expr, fields) =>
    `json_extract(CASE WHEN json_valid(${expr}) THEN CAST(${expr} AS JSON) END, [${fields.map((f) => `'$."${f}"'`).join(', ')}])`,
  splitText: (expr, separator) => `string_split(${expr}, ${sqlString(separator)})`,
  timestampFromMicros: (expr) => `make_timestamp(${expr})`,
  listItem: (expr, index) => `${expr}[${index + 1}]`,
  nullIfJsonNull: (expr) => `CASE WHEN json_type(${expr}) <> 'NULL' THEN ${expr} END`,
  toJson: (expr) => `to_json(${expr})`,
  latestValue: (value, ts, tiebreak, filter) =>
    `(arg_max(struct_pack(v := ${value}), struct_pack(t := ${ts}, m := ${tiebreak})) FILTER (WHERE ${filter})).v`,
  textContains: (expr, needle) => `contains(${expr}, ${needle})`,
  rowsFingerprint: (exprs) => `CAST(bit_xor(hash(${exprs.join(', ')})) AS VARCHAR)`,
  unitHash: (textExpr) => `(CAST(('0x' || left(md5(${textExpr}), 8)) AS UBIGINT) / 4294967296.0)`,
  jsonArrayAgg: (expr, filter, options) =>
    options?.distinct
      ? `to_json(list_sort(list_distinct(list(${expr}) FILTER (WHERE ${filter} AND ${expr} IS NOT NULL))))`
      : `to_json(list(${expr} ORDER BY ${expr}) FILTER (WHERE ${filter} AND ${expr} IS NOT NULL))`,
  aggregateIf: (aggregate, condition) => `${aggregate} FILTER (WHERE ${condition})`,
  median: (expr) => `median(${expr})`,
  quantile(expr, fraction) {
    if (!(fraction >= 0 && fraction <= 1)) throw new Error(`quantile: fraction ${fraction} is not in [0, 1]`);
    return `quantile_cont(${expr}, ${fraction})`;
  },
  allColumnsExcept: (columns) => `* EXCLUDE (${columns.map(quoteIdent).join(', ')})`,
  materialized: () => 'MATERIALIZED',
  dayOf: (expr) => `CAST(${expr} AS DATE)`,
  power: (base, exponent) => `pow(${base}, ${exponent})`,
  jsonArrayHas: (array, value) =>
    `list_contains(CAST(json_extract_string(${array}, '$[*]') AS VARCHAR[]), ${value})`,
  epochMs: (expr) => `epoch_ms(${expr})`,
  plusMs: (expr, ms) => `(${expr} + to_milliseconds(${Math.trunc(ms)}))`,
  nextRowJoin: ({ left, right, on, leftTime, rightTime, outer }) =>
    `${left} ASOF ${outer ? 'LEFT ' : ''}JOIN ${right} ON ${on} AND ${rightTime} > ${leftTime}`,
  previousRowJoin: ({ left, right, on, leftTime, rightTime }) =>
    `${left} ASOF JOIN ${right} ON ${on} AND ${leftTime} > ${rightTime}`,
  // The object read once into a MAP, not json_each (which walks the document per member): 5.1M members of 855k
  // objects took 2.4–3.3 s against 6.9–9.3 s. The map gives a JSON null member as SQL NULL: made JSON null again.
  // An array or a scalar has no members (json_each would number an array's items).
  jsonMembersJoin: (left, object, alias) =>
    `${left}, (SELECT _sf_member.key AS key, coalesce(_sf_member.value, CAST('null' AS JSON)) AS value
      FROM (SELECT unnest(map_entries(json_transform(${object}, '"MAP(VARCHAR, JSON)"'))) AS _sf_member)) ${alias}`,
  dayStart: (expr) => `date_trunc('day', ${expr})`,
  epochSeconds: (expr) => `epoch(${expr})`,
  now: () => `CAST(now() AS TIMESTAMP)`,
  readNdjson(path: string, columns: FileColumns): string {
    const cols = Object.entries(columns)
      .map(([name, type]) => `${sqlString(name)}: ${sqlString(COLUMN_TYPES[type])}`)
      .join(', ');
    // With a schema, ignore_errors turns lines that are not JSON objects into empty rows; the importer counts
    // lines to notice them and falls back to reading line by line. Without one, the reader infers the columns from
    // every line: from its default sample it refuses a file whose objects gain a key after the sample (a generated
    // shop's first resolved ticket is line 23,957).
    if (!cols)
      return `read_json(${path}, format = 'newline_delimited', maximum_object_size = 67108864, sample_size = -1)`;
    return `read_json(${path}, format = 'newline_delimited', ignore_errors = true, maximum_object_size = 67108864, columns = {${cols}})`;
  },
  readCsvLines: (path) =>
    `read_csv(${path}, columns = {'line': 'VARCHAR'}, delim = '\x1f', quote = '', escape = '', header = false, auto_detect = false)`,
  readCsv: (path, { header, delimiter, inferTypes }) =>
    `read_csv(${path}, header = ${header}, all_varchar = ${!inferTypes}${delimiter ? `, delim = ${sqlString(delimiter)}` : ''})`,
  readParquet: (path) => `read_parquet(${path})`,
  toTimestamp: (expr) => `CAST(${expr} AS TIMESTAMP)`,
  asColumnType: (expr) => expr,
  noTextList: () => 'CAST(NULL AS VARCHAR[])',
  inTextList: (expr, placeholder) => `${expr} IN (SELECT unnest(from_json(${placeholder}, '["VARCHAR"]')))`,
};
