import type { ColumnType, FileColumns } from './dialect.js';
import type { Row, SqlValue } from './values.js';

/**
 * Statement-level ports: the named storage operations the playbook steps need (upsert by key, scratch relations,
 * join-updates, snapshot replacement), described as data. Each engine adapter renders them in its own SQL (the
 * DuckDB adapter in `duckdb/duckdb-ports.ts`), the way a kysely dialect's query compiler renders one operation tree
 * per database. Expression-level SQL (JSON access, arg-max, …) stays in the `Dialect`; the SQL handed in here (a
 * SELECT, an expression) is built from it.
 */

/** A rendered statement: SQL text and its bound values, in placeholder order. */
export interface Statement {
  sql: string;
  params: SqlValue[];
  /**
   * `count`: a SELECT whose one value is the number of rows the operation changes, for engines whose writes do not
   * report it (ClickHouse); the runner adds it up instead of running it for a count of its own.
   */
  role?: 'count';
}

/** A SELECT (built with the dialect) and its bound values. Its placeholders are its own: `?` or `$n`, never both. */
export interface Select {
  select: string;
  params?: readonly SqlValue[];
}

/** Literal rows, in the order of the operation's columns. */
export interface Rows {
  rows: readonly (readonly SqlValue[])[];
}

/** Qualified references to the row already stored under a key and the row arriving with the same key. */
export interface ConflictRefs {
  current(column: string): string;
  incoming(column: string): string;
}

/**
 * Insert rows; where a row's key is already stored, keep the stored row (no `update`), take the incoming values of
 * some columns (`update` as a list), or compute new values from both rows (`update` as a function).
 *
 * @example
 * // first/last seen widen, the event count adds up
 * { table: 'identity_activity', columns: ['identifier', 'first_seen', 'last_seen', 'events'], key: ['identifier'],
 *   from: { select: 'SELECT …' },
 *   update: (r) => ({ events: `${r.current('events')} + ${r.incoming('events')}` }) }
 */
export interface UpsertSpec {
  table: string;
  columns: readonly string[];
  /** The columns that identify a row: the table's primary key. */
  key: readonly string[];
  from: Select | Rows;
  update?: readonly string[] | ((refs: ConflictRefs) => Readonly<Record<string, string>>);
  /** Update only stored rows for which this condition (of both rows) holds; the others are kept. */
  when?: (refs: ConflictRefs) => string;
}

/** A scratch column: its name and type. */
export type ScratchColumn = readonly [name: string, type: ColumnType];

/**
 * A scratch relation, private to this connection, for one statement or one refresh: filled from a SELECT, or
 * created with columns and filled with rows (bulk-appended). Creating one that exists replaces it.
 */
export type ScratchSpec =
  | ({ name: string } & Select)
  | {
      name: string;
      columns: readonly ScratchColumn[];
      rows?: Iterable<readonly SqlValue[]> | AsyncIterable<readonly SqlValue[]>;
    };

/**
 * Update rows of `table` from a relation (a table name or a SELECT): each target row whose `match` columns equal a
 * source row's takes values from it. Each target row must match at most one source row.
 *
 * @example
 * // every identity of a merged-away person moves to the survivor
 * { table: 'identities', from: { table: '_sf_remap' }, match: { person_id: 'old_id' }, set: { person_id: 'new_id' } }
 */
export interface UpdateFromSpec {
  table: string;
  from: { table: string } | Select;
  /** target column → source column: the pairs that must be equal. */
  match: Readonly<Record<string, string>>;
  /** target column → the source column it takes its new value from. */
  set: Readonly<Record<string, string>>;
  /** An extra condition on the target row (`target(column)` is its qualified reference). */
  where?: (target: (column: string) => string) => string;
}

/**
 * Replace a snapshot: delete the rows of `table` where the `at` columns equal the given values, then insert the
 * SELECT's rows. `readsOwnRows` when the SELECT reads the rows being replaced (they are computed in full first).
 */
export interface ReplaceSnapshotSpec extends Select {
  table: string;
  columns: readonly string[];
  at: Readonly<Record<string, SqlValue>>;
  readsOwnRows?: boolean;
}

/**
 * An engine's renderer of the ports: pure functions from an operation to the statements that carry it out, in order
 * (the tests assert them per engine). Rows of a scratch relation are not SQL: the runner appends them.
 */
export interface PortRenderer {
  upsert(spec: UpsertSpec, options?: { returning?: readonly string[] }): Statement[];
  createScratch(spec: ScratchSpec): Statement[];
  dropScratch(name: string): Statement[];
  updateFrom(spec: UpdateFromSpec): Statement[];
  /** The statements and which of them counts the new rows (its count is the snapshot's size). */
  replaceSnapshot(spec: ReplaceSnapshotSpec): { statements: Statement[]; inserting: number };
}

/** How a file's rows are read: Segment-spec NDJSON (each field as the given type), CSV, or Parquet. */
export type FileFormat =
  | { kind: 'ndjson'; columns: FileColumns }
  | { kind: 'csv'; header: boolean; delimiter?: string }
  | { kind: 'parquet' };

/**
 * A file on this machine to read as a relation (an import). `name` is the scratch relation its rows are sent into
 * where the engine cannot read this machine's disk (drop it with `dropScratch` when done); `onProgress` hears the
 * fraction of the file sent, where it is sent.
 */
export interface FileSourceSpec {
  name: string;
  path: string;
  format: FileFormat;
  /** The `row_no` of the first row (e.g. 2 for CSV with a header: row numbers are then line numbers). Default 1. */
  firstRowNo?: number;
  onProgress?: (fraction: number) => void;
}

/**
 * A file's rows as a relation, in file order: `row_no`, then the file's columns (for NDJSON, the columns asked for),
 * to use as `SELECT … FROM ${relation}` with `params` bound as `$1…$n` (the caller numbers its own after them).
 */
export interface FileSource {
  relation: string;
  params: SqlValue[];
}

/** The ports as the steps call them: `wh.storage.upsert(…)` runs on that warehouse (or transaction). */
export interface Storage {
  readonly render: PortRenderer;
  /** Returns the number of rows inserted or updated. */
  upsert(spec: UpsertSpec): Promise<number>;
  /** The same, returning `columns` of every row inserted or updated. */
  upsertReturning<T extends Row = Row>(spec: UpsertSpec, columns: readonly string[]): Promise<T[]>;
  /** Create (or replace) a scratch relation and fill it. Drop it with `dropScratch`, or use `withScratch`. */
  createScratch(spec: ScratchSpec): Promise<void>;
  /** Drop a scratch relation if it exists. */
  dropScratch(name: string): Promise<void>;
  /** Create a scratch relation, run `fn`, and drop it whatever `fn` does. */
  withScratch<T>(spec: ScratchSpec, fn: () => Promise<T>): Promise<T>;
  /** Returns the number of rows updated. */
  updateFrom(spec: UpdateFromSpec): Promise<number>;
  /** Returns the number of rows the snapshot now holds. */
  replaceSnapshot(spec: ReplaceSnapshotSpec): Promise<number>;
  /**
   * A file on this machine as a relation. Embedded ClickHouse reads the file where it lies, when the relation is
   * queried; DuckDB copies it into the scratch relation `spec.name` first with its parallel reader (numbering rows
   * while reading would read on one thread: duckdb/file-copy.ts); a server is sent the file's bytes (streamed, never
   * whole in memory) into `spec.name`, since its file readers see only its own disk. Drop `spec.name` when done.
   */
  stageFile(spec: FileSourceSpec): Promise<FileSource>;
}
