import type { Dialect } from './dialect.js';
import type { Storage } from './ports.js';
import type { Row, SqlValue } from './values.js';

export type { Row, SqlValue } from './values.js';

/** A result of numbers, column by column (`Warehouse.queryColumns`). */
export interface NumericColumns {
  /** Rows in the result. */
  rows: number;
  /** Every column of the result by name, one number per row: NULL is NaN. */
  columns: Record<string, Float64Array>;
}

export interface StreamOptions {
  /** Rows per yielded batch; the engine's own chunk size when omitted. */
  batchRows?: number;
}

/**
 * The Warehouse port: everything above `engine/` talks to storage through this, so that the embedded DuckDB
 * default and the ClickHouse scale-out engine run the same code. SQL text handed in is built from the adapter's
 * `dialect`; values are always bound (`?` placeholders), never spliced.
 */
export interface Warehouse {
  /** Which adapter this is (`duckdb` today): for messages and diagnostics, never for choosing SQL (the dialect and the ports do that). */
  readonly engine: string;
  readonly dialect: Dialect;
  /** The statement-level ports (upsert, scratch relations, join-updates, snapshots), run on this warehouse. */
  readonly storage: Storage;
  /** Where the data lives: a file path or ':memory:'. */
  readonly location: string;
  /** Run a statement; returns the number of rows it inserted, updated or deleted (0 for others). */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Run a query and return every row: for small results (reports, lookups). */
  query<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /**
   * Run a query whose columns are all numbers and return them column by column, NULL as NaN (other types are refused
   * with SQL_FAILED): for results of many rows of numbers, such as a model's grouped summaries, where building an
   * object per row costs more than the query. Columns cast to DOUBLE in the SQL are the cheapest to read.
   */
  queryColumns(sql: string, params?: readonly SqlValue[]): Promise<NumericColumns>;
  /** Run a query and yield its rows in batches without holding the whole result in memory. */
  stream<T extends Row = Row>(
    sql: string,
    params?: readonly SqlValue[],
    options?: StreamOptions,
  ): AsyncIterable<T[]>;
  /** Append rows to a table in bulk, bypassing per-row INSERT parsing. Returns the number of rows appended. */
  append(
    table: string,
    columns: readonly string[],
    rows: Iterable<readonly SqlValue[]> | AsyncIterable<readonly SqlValue[]>,
  ): Promise<number>;
  /**
   * Run `fn` inside one transaction: everything it does commits together or not at all — where `atomicTransactions`
   * says so; elsewhere `fn` only has the connection to itself and what it wrote before a failure stays written.
   */
  transaction<T>(fn: (tx: Warehouse) => Promise<T>): Promise<T>;
  /**
   * Whether a transaction commits whole or not at all: DuckDB's do; ClickHouse has no multi-statement transactions.
   * Work of many statements that must be exact after a crash checks it, to redo on retry what a run cut short may
   * have left out (storeChecked: the facts of events a replayed load finds stored).
   */
  readonly atomicTransactions: boolean;
  /**
   * Run `fn`'s statements back to back on this connection: no other caller's statement (the collector's loads) runs
   * between them, but each commits on its own (not a transaction). A streaming evaluation is some 30 short
   * statements; run one at a time, each waited behind a whole load of the intake log, and an evaluation of 0.2 s took
   * 10 s while events arrived. `fn` must use the warehouse it is given: calling this one inside waits forever.
   *
   * @example
   * await wh.exclusive(async (db) => {
   *   await db.run('DELETE FROM scratch_rows');
   *   await db.run('INSERT INTO scratch_rows SELECT …');
   * });
   */
  exclusive<T>(fn: (wh: Warehouse) => Promise<T>): Promise<T>;
  /** Run one read-only statement (a single SELECT); anything that could write is refused with SQL_NOT_READ_ONLY. */
  readOnlyQuery(sql: string, params?: readonly SqlValue[]): Promise<{ columns: string[]; rows: Row[] }>;
  /** Write a query's result to a file (the engine's own writer: fast, streaming). Returns rows written. */
  exportToFile(
    sql: string,
    params: readonly SqlValue[],
    file: { path: string; format: 'parquet' | 'csv' | 'ndjson' },
  ): Promise<number>;
  /**
   * The same database for reads that must not wait behind writes (decide() while the stream and the loader write):
   * on DuckDB a second connection with its own queue, which sees what is committed — never an open transaction's
   * changes or another connection's scratch tables. Each `name` is a connection of its own, so long reads under one
   * name (the decide snapshot's loads) do not hold up short ones under another (a decision's lookups). Engines whose
   * connections already run side by side, and a warehouse inside a transaction, answer themselves. Closed with this
   * warehouse; do not close it.
   *
   * @example
   * const reads = await wh.reader();
   * await reads.query('SELECT segment FROM segment_memberships WHERE person_id = ?', [id]);
   * const bulk = await wh.reader('decide-snapshot'); // another connection: its loads do not hold up `reads`
   */
  reader(name?: string): Promise<Warehouse>;
  /** Fraction of the running statement done (0..1), or undefined when the engine cannot tell. */
  progress(): number | undefined;
  close(): Promise<void>;
}
