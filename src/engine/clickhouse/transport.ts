import type { Readable } from 'node:stream';
import { logIfSlow, SLOW_SQL_MS } from '../slow-sql.js';

/**
 * How the ClickHouse warehouse reaches its engine: the embedded engine (chdb, in this process) or a server over HTTP
 * (`@clickhouse/client`). Both take one statement at a time and answer rows in the JSONCompact format, so the
 * warehouse above them is the same.
 */

/** A result in ClickHouse's JSONCompact format: column names and types, then rows as arrays. */
export interface CompactResult {
  meta: { name: string; type: string }[];
  data: unknown[][];
}

export interface ClickHouseTransport {
  /** Where the data lives, for messages: a folder (embedded) or a URL without credentials. */
  readonly location: string;
  /** Run a statement that returns no rows (DDL, INSERT … SELECT, ALTER, SET). */
  exec(sql: string): Promise<void>;
  /** Run a query and return its rows. */
  select(sql: string): Promise<CompactResult>;
  /** Insert rows given as JSONCompactEachRow lines (one JSON array per row, in `columns` order). */
  insert(table: string, columns: readonly string[], lines: string): Promise<void>;
  /** A query's result in a ClickHouse output format (Parquet, CSVWithNames, JSONEachRow), as bytes. */
  raw(sql: string, format: string): Promise<Uint8Array>;
  /**
   * Run an INSERT that ends with its FORMAT clause, its data streamed from `body`. Only where the engine runs
   * elsewhere (a server): its `file()` reads the server's disk, so files on this machine are sent with this. The
   * embedded engine has none: it reads this machine's files where they lie.
   */
  sendFile?(insert: string, body: Readable): Promise<void>;
  close(): Promise<void>;
}

/**
 * Session settings that give ClickHouse the SQL semantics segflow's steps are written for (and DuckDB has): reads of
 * keyed (ReplacingMergeTree) tables see one row per key, outer joins give NULLs rather than default values, UNION
 * means UNION DISTINCT, mutations and deletes finish before the statement returns, times are UTC, and 64-bit
 * integers come back exactly (as text).
 */
export const CLICKHOUSE_SESSION_SETTINGS = {
  session_timezone: 'UTC',
  final: 1,
  join_use_nulls: 1,
  union_default_mode: 'DISTINCT',
  // In SQL an alias does not hide a column of the same name (`SELECT count(*) AS n, sum(n)`); ClickHouse's default does.
  prefer_column_name_to_alias: 1,
  cast_keep_nullable: 1,
  // An aggregate over no rows is NULL (max, sum, argMax…), as in SQL; ClickHouse's default is the type's zero.
  aggregate_functions_null_for_empty: 1,
  mutations_sync: 2,
  lightweight_deletes_sync: 2,
  output_format_json_quote_64bit_integers: 1,
  output_format_json_quote_denormals: 1,
  date_time_input_format: 'best_effort',
  // CSV files written (exports, audience files) show NULL as an empty field, as DuckDB's writer does.
  format_csv_null_representation: '',
} as const;

/**
 * The transport with each statement timed for `SEGFLOW_LOG_SLOW_SQL_MS` (the same log as DuckDB's); the transport
 * itself when the log is off.
 *
 * @example
 * const transport = timedTransport(await openChdbTransport({ folder, database: 'segflow' }));
 */
export function timedTransport(t: ClickHouseTransport): ClickHouseTransport {
  if (SLOW_SQL_MS === undefined) return t;
  const timed = async <R>(label: string, run: () => Promise<R>): Promise<R> => {
    const started = performance.now();
    try {
      return await run();
    } finally {
      logIfSlow(label, performance.now() - started);
    }
  };
  const { sendFile } = t;
  return {
    location: t.location,
    exec: (sql) => timed(sql, () => t.exec(sql)),
    select: (sql) => timed(sql, () => t.select(sql)),
    insert: (table, columns, lines) =>
      timed(`INSERT INTO ${table} (rows)`, () => t.insert(table, columns, lines)),
    raw: (sql, format) => timed(sql, () => t.raw(sql, format)),
    ...(sendFile
      ? { sendFile: (insert: string, body: Readable) => timed(insert, () => sendFile.call(t, insert, body)) }
      : {}),
    close: () => t.close(),
  };
}
