/**
 * The dialect layer: every SQL construct that differs between engines is a function here, so code in the playbook
 * steps composes SQL from these and stays engine-neutral. Each engine implements it: DuckDB (duckdb/) and ClickHouse
 * (clickhouse/), checked against each other in test/engine/dialect-agreement.test.ts.
 */
export type ColumnType = 'text' | 'timestamp' | 'double' | 'bigint' | 'integer' | 'boolean' | 'json';

export interface ColumnDef {
  name: string;
  type: ColumnType;
  notNull?: boolean;
}

export interface TableDef {
  name: string;
  columns: readonly ColumnDef[];
  /** Columns that identify a row; engines use it for upserts (DuckDB) or as a sorting/replacing key (ClickHouse). */
  primaryKey?: readonly string[];
  /**
   * `false`: no unique index keeps the key; the upsert port does, with a MERGE that joins on it (one writer at a time:
   * the warehouse's lock). For large tables written in bulk: DuckDB's unique index made an import's writes into the
   * identity tables, and their commit, several times slower than the rows alone. Point lookups go through plain
   * (not unique) indexes, which cost a write far less (schema.ts, migration 22).
   */
  keyIndexed?: boolean;
}

/** Column name → type, for reading files with an explicit schema. */
export type FileColumns = Readonly<Record<string, ColumnType>>;

export interface Dialect {
  readonly name: 'duckdb' | 'clickhouse';
  quoteIdent(name: string): string;
  /**
   * A text constant written into the SQL instead of passed as a parameter, where the engine can use a constant to
   * skip data: DuckDB pushes `event IN ('a', 'b')` into the table scan, but turns `event IN ($1, $2)` into a join
   * after reading every column of every row. For configured names only; user input goes in parameters.
   */
  textLiteral(text: string): string;
  columnType(type: ColumnType): string;
  createTable(def: TableDef): string;
  /** Text at a JSON path (`$.a.b`), NULL when absent. `path` is SQL text: a literal built by `jsonPath` or a `?`. */
  jsonText(expr: string, path: string): string;
  /** The JSON value at a path (still JSON), NULL when absent. */
  jsonValue(expr: string, path: string): string;
  /** One of 'string' | 'number' | 'boolean' | 'object' | 'array' | 'null' for a JSON value; NULL for SQL NULL. */
  jsonKind(expr: string): string;
  /**
   * The same as jsonKind for JSON the engine itself serialized (minified: the first character tells the kind), without
   * parsing the value — the cheap check for large objects.
   */
  jsonKindOfSerialized(expr: string): string;
  /** True when the serialized JSON text contains `needle` (a literal we choose): a cheap pre-filter before parsing. */
  jsonTextContains(expr: string, needle: string): string;
  /** A JSON value's serialized length in characters. */
  jsonLength(expr: string): string;
  /** Parse text as an ISO-8601 instant (any offset) to a UTC timestamp; NULL when unparseable. */
  parseTimestamp(expr: string): string;
  /** Text to a double, NULL when not a number. */
  toDouble(expr: string): string;
  /** An array of the non-NULL values among `exprs`. */
  compactArray(exprs: readonly string[]): string;
  arrayLength(expr: string): string;
  /** Concatenate two text arrays; a NULL first array counts as empty. */
  concatArrays(first: string, second: string): string;
  /** Parse text with a strftime-style format (a placeholder such as `$2`) to a timestamp; NULL when it does not match. */
  parseTimestampFormat(expr: string, format: string): string;
  /**
   * A JSON object from (key placeholder or literal, JSON value) pairs: each value is JSON already (a JSON column, or
   * `toJsonValue`'s result) and is embedded as it is; a NULL value is `null`.
   */
  jsonObjectOf(pairs: readonly (readonly [key: string, valueExpr: string])[]): string;
  /**
   * A timestamp as text the way DuckDB casts it (`2026-01-31 09:30:00.5`: no trailing zeros in the fraction, none
   * at all for whole seconds), on every engine: digests of it (derived message ids) must agree across engines.
   */
  timestampText(expr: string): string;
  /** A timestamp as ISO-8601 UTC text with milliseconds and a Z. */
  isoText(expr: string): string;
  /** Any SQL value as a JSON value. */
  toJsonValue(expr: string): string;
  /** The 1-based position of each row in its source, in source order. */
  rowNumber(): string;
  /** Split text on runs of whitespace after trimming; a text array. */
  splitWhitespace(expr: string): string;
  /** A stable hex digest of text (used to derive message ids). */
  hashHex(expr: string): string;
  /**
   * A 64-bit hash of a text, NULL for NULL: equal texts hash alike, so counting distinct hashes is a cheap upper
   * bound on repeats (a collision only makes two texts look alike). Not stable across engine versions: never stored.
   */
  hash64(expr: string): string;
  /** Lowercase hex SHA-256 of a text. */
  sha256Hex(expr: string): string;
  argMax(value: string, by: string): string;
  argMin(value: string, by: string): string;
  /**
   * The value on the row with the greatest (ts, tiebreak), keeping a NULL value if that row has one (a plain arg-max
   * skips NULLs and would fall back to an older row). An aggregate; `filter` limits the rows it reads.
   */
  latestValue(value: string, ts: string, tiebreak: string, filter: string): string;
  /** True when text `expr` contains text `needle` (both expressions). */
  textContains(expr: string, needle: string): string;
  /** A number in [0, 1) from the first 32 bits of the MD5 of a text: deterministic across engines and languages. */
  unitHash(textExpr: string): string;
  /** An aggregate: one value that changes when any row's values change (an order-independent hash of the rows). */
  rowsFingerprint(exprs: readonly string[]): string;
  /** Milliseconds since the epoch of a timestamp. */
  epochMs(expr: string): string;
  /** A JSON array of the (non-NULL) values of `expr` in ascending order, for rows where `filter` holds; an aggregate. */
  jsonArrayAgg(expr: string, filter: string, options?: { distinct?: boolean }): string;
  /**
   * An aggregate over only the rows where `condition` holds, SQL's `FILTER (WHERE …)` clause. `aggregate` is a whole
   * aggregate call (`count(*)`, `max(ts)`, `count(DISTINCT x)`, `median`'s…). Over no matching rows a count is 0 and
   * every other aggregate NULL, on every engine.
   *
   * @example
   * d.aggregateIf('count(*)', 'is_purchase') // "count(*) FILTER (WHERE is_purchase)"
   * d.aggregateIf('sum(revenue)', "event = 'Order Completed'") // NULL, not 0, for a person with no order
   */
  aggregateIf(aggregate: string, condition: string): string;
  /** The median of a numeric expression (an aggregate; `aggregateIf` limits the rows it reads). */
  median(expr: string): string;
  /** The continuous (interpolated) quantile at `fraction` (a literal in [0, 1]) of a numeric expression; an aggregate. */
  quantile(expr: string, fraction: number): string;
  /** Every column of the FROM relation except the named ones (a select list). */
  allColumnsExcept(columns: readonly string[]): string;
  /** The keyword that makes a CTE computed once and reused (`name AS MATERIALIZED (…)`), or '' if unsupported. */
  materialized(): string;
  /** The UTC calendar day of a timestamp (for counting distinct days). */
  dayOf(expr: string): string;
  /** base raised to a power. */
  power(base: string, exponent: string): string;
  /** True when a JSON array (text) holds the string `value` (an expression). */
  jsonArrayHas(array: string, value: string): string;
  /** A timestamp plus a whole number of milliseconds (a literal computed by segflow, never user text). */
  plusMs(expr: string, ms: number): string;
  /**
   * Join each row of `left` to the first row of `right` (same `on` keys) whose time is strictly after the left
   * row's time: `right` rows with NULL columns when there is none and `outer` is set.
   */
  nextRowJoin(options: {
    left: string;
    right: string;
    on: string;
    leftTime: string;
    rightTime: string;
    outer: boolean;
  }): string;
  /**
   * Join each row of `left` to the last row of `right` (same `on` keys) whose time is strictly before the left row's
   * time; left rows without one are dropped.
   */
  previousRowJoin(options: {
    left: string;
    right: string;
    on: string;
    leftTime: string;
    rightTime: string;
  }): string;
  /** Aggregate: true when any value is true. */
  boolOr(expr: string): string;
  /** Aggregate: true when the expression is true on every row. */
  boolAnd(expr: string): string;
  /** Text values joined with a separator literal we choose, NULLs skipped. */
  joinText(separator: string, exprs: readonly string[]): string;
  /** Aggregate (key, JSON value) pairs into one JSON object. */
  jsonObjectAgg(key: string, value: string): string;
  /** Build a JSON object from alternating key literals and value expressions. */
  jsonObject(pairs: readonly (readonly [key: string, valueExpr: string])[]): string;
  /** Keys of a JSON object as rows: a table expression yielding (key, value). */
  jsonEachSource(expr: string): string;
  /** `received − (sent − original)`: the event time corrected for the client's clock skew (Segment's rule). */
  skewCorrected(received: string, sent: string, original: string): string;
  /** True when text parses as JSON and is an object. */
  textIsJsonObject(expr: string): string;
  /** True when text parses as JSON at all. */
  textIsJson(expr: string): string;
  /** The named top-level fields of a JSON text as one list of JSON values, parsing the text once (NULL if invalid). */
  jsonFieldList(expr: string, fields: readonly string[]): string;
  /** Text split at every occurrence of a one-character separator (a literal we choose), as a list. */
  splitText(expr: string, separator: string): string;
  /** A timestamp from whole microseconds since 1970-01-01 UTC. */
  timestampFromMicros(expr: string): string;
  /** Item `index` (0-based) of a list. */
  listItem(expr: string, index: number): string;
  /** SQL NULL for a JSON null, else the value. */
  nullIfJsonNull(expr: string): string;
  /** Serialize an array of text to a JSON array. */
  toJson(expr: string): string;
  /**
   * A FROM clause: each row of `left` (a relation with its alias) once per member of the JSON object `object` (an
   * expression over `left`'s columns), the member as `alias.key` (text) and `alias.value` (JSON); rows whose
   * object is NULL or empty drop out. (A lateral join: ClickHouse has none, and expands arrays with ARRAY JOIN.)
   */
  jsonMembersJoin(left: string, object: string, alias: string): string;
  /** The start (00:00 UTC) of the day a timestamp falls on, as a timestamp. */
  dayStart(expr: string): string;
  /** Seconds since 1970-01-01 UTC as a double (fractions kept): differences of two give durations. */
  epochSeconds(expr: string): string;
  /** The current UTC time as a timestamp. */
  now(): string;
  /**
   * Files as relations; `path` is the placeholder the caller binds the file name to (e.g. `$1`). With no columns
   * the NDJSON reader infers them (DuckDB: from every line, so a key first seen late in the file is a column too).
   */
  readNdjson(path: string, columns: FileColumns): string;
  readCsvLines(path: string): string;
  readCsv(path: string, options: { header: boolean; delimiter?: string; inferTypes?: boolean }): string;
  readParquet(path: string): string;
  /**
   * A value (text, a bound Date, a timestamp) as a timestamp keeping microseconds: `CAST(x AS TIMESTAMP)` is that on
   * DuckDB but whole seconds on ClickHouse (TIMESTAMP is DateTime there).
   */
  toTimestamp(expr: string): string;
  /**
   * A value in the type a column of `type` stores, where the engine's expression types differ from its column types:
   * ClickHouse's count() is UInt64 and a comparison UInt8 where the columns are Int64 and Bool (and UNION ALL of
   * UInt64 with Int64 has no common type; a UInt8 in JSON is 0, not false). DuckDB's agree: the value as it is.
   */
  asColumnType(expr: string, type: ColumnType): string;
  /** A text list with no value yet, for a column of text lists: SQL NULL on DuckDB, `[]` on ClickHouse (no NULL lists). */
  noTextList(): string;
  /** `expr IN (…)` for a list of texts bound as one JSON array parameter (`placeholder` binds JSON.stringify(list)). */
  inTextList(expr: string, placeholder: string): string;
}

/** Lists up to this long are bound one placeholder per value by `inTexts` (DuckDB's index scans stop at 2,048 values). */
const PLACEHOLDER_LIST_MAX = 1000;

/**
 * `expr IN (…)` for a list of texts, with the values to bind in order: one placeholder per value for a list up to a
 * thousand long, so that an index on `expr` can serve it, else the dialect's one-parameter form (`inTextList`). DuckDB
 * looks placeholders up in an ART index, where a JSON array parameter becomes a join that reads the whole column once
 * the list is longer than a few dozen: 200 person ids among 2M identities took 26 ms against 57–70 ms.
 *
 * @example
 * const { sql, params } = inTexts(wh.dialect, 'person_id', ['usr_1', 'usr_2']);
 * await wh.query(`SELECT identifier FROM identities WHERE ${sql}`, params); // person_id IN (?, ?)
 */
export function inTexts(
  d: Dialect,
  expr: string,
  values: readonly string[],
): { sql: string; params: string[] } {
  if (values.length === 0) return { sql: 'FALSE', params: [] };
  if (values.length > PLACEHOLDER_LIST_MAX)
    return { sql: d.inTextList(expr, '?'), params: [JSON.stringify(values)] };
  return { sql: `${expr} IN (${values.map(() => '?').join(', ')})`, params: [...values] };
}

/** A JSON path literal for constant keys we choose (never user input): `['a','b']` → `'$."a"."b"'`. */
export function jsonPath(keys: readonly string[]): string {
  for (const k of keys) {
    if (!/^[A-Za-z0-9_$ -]+$/.test(k))
      throw new Error(`jsonPath: key ${JSON.stringify(k)} must be bound as a parameter`);
  }
  return `'$${keys.map((k) => `."${k}"`).join('')}'`;
}
