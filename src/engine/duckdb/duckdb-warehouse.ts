import { existsSync, statSync } from 'node:fs';
import type {
  DuckDBAppender,
  DuckDBConnection,
  DuckDBInstance,
  DuckDBMaterializedResult,
  DuckDBType,
  DuckDBValue,
  DuckDBVector,
} from '@duckdb/node-api';
import { errorMessage, SegflowError } from '../../errors.js';
import type { Storage } from '../ports.js';
import { logIfSlow, SLOW_SQL_MS } from '../slow-sql.js';
import { createStorage } from '../storage.js';
import type { NumericColumns, Row, SqlValue, StreamOptions, Warehouse } from '../warehouse.js';
import { duckdbDialect } from './duckdb-dialect.js';
import { duckdbPorts } from './duckdb-ports.js';
import { copyFileIn } from './file-copy.js';
import { duckdb } from './node-api.js';

const {
  DOUBLE,
  DuckDBDecimalValue,
  DuckDBResultReader,
  DuckDBTypeId,
  StatementType,
  TIMESTAMP,
  timestampValue,
} = duckdb;

export interface DuckDBOpenOptions {
  /** A database file, or ':memory:'. */
  path: string;
  readOnly?: boolean;
  /** DuckDB threads; defaults to the machine's cores. */
  threads?: number;
  /** See `OpenWarehouseOptions.checkpointOnClose` (engine/open.ts). */
  checkpointOnClose?: boolean;
}

/**
 * Below this, a write-ahead log is left for a later open when the opener said it writes little. Checkpointing at close
 * costs about 70 ms more than not (DuckDB rewrites the changed tables' blocks and the file's metadata, whatever the
 * size of the change); every later open then replays the log: about 35 ms for any log plus 0.2 ms per kB (full CDNOW
 * database, 2-core machine). A model fit adds 1–1.5 kB, so a run of fits pays least with a checkpoint every 64 kB:
 * with 1 MB, later opens replayed 0.5 MB on average, about 100 ms each.
 */
const SMALL_WAL_BYTES = 64 << 10;

function toDuckValue(v: SqlValue): DuckDBValue {
  if (v instanceof Date) return timestampValue(BigInt(v.getTime()) * 1000n);
  return v;
}

/**
 * The types to bind `params` with, or undefined to let the client infer each. The client binds every whole-valued
 * number as an integer, so a float such as a diverged log-likelihood (-3.3e58) was bound as BIGINT and failed with
 * "out of int64 range" (seen inserting a model fit). Numbers beyond the exactly representable integers are floats
 * in JavaScript anyway: they are bound as DOUBLE.
 */
function duckTypes(params: readonly SqlValue[]): DuckDBType[] | undefined {
  // A sparse array: the client binds a position with no type by inferring it, as it does without types.
  let types: DuckDBType[] | undefined;
  params.forEach((v, i) => {
    if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v)) {
      types ??= [];
      types[i] = DOUBLE;
    }
  });
  return types;
}

/** Integers come back as bigint; hand JavaScript a number whenever it is exact, so callers never juggle both. */
function toJsValue(v: unknown): unknown {
  if (typeof v === 'bigint') {
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(v)
      : v.toString();
  }
  return v;
}

function normalizeRow(row: Record<string, unknown>): Row {
  for (const k of Object.keys(row)) row[k] = toJsValue(row[k]);
  return row;
}

/**
 * A DOUBLE vector's numbers and validity mask as @duckdb/node-api 1.5 holds them (the vector's `items`, its validity's
 * `data` and `offset`), to copy in bulk: `getItem` costs a call per number and tests each one's bit with BigInt
 * arithmetic. Undefined when the client holds them otherwise; the numbers are then read one by one.
 */
function doubleBuffers(
  vector: DuckDBVector,
): { items: Float64Array; mask: Uint8Array | null; offset: number } | undefined {
  const v = vector as unknown as { items?: unknown; validity?: { data?: unknown; offset?: unknown } };
  const data = v.validity?.data;
  const offset = v.validity?.offset;
  if (!(v.items instanceof Float64Array) || typeof offset !== 'number') return undefined;
  if (data === null) return { items: v.items, mask: null, offset };
  if (!(data instanceof BigUint64Array)) return undefined;
  // Bit k of the mask is row k's: byte k >> 3, bit k & 7 (the words are little-endian, as on every host Node runs on).
  return { items: v.items, mask: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset };
}

/** One value of a numeric result as a number (a DECIMAL as the nearest double): NULL is NaN; other types are refused. */
function numberOf(value: DuckDBValue, column: string, sql: string): number {
  if (value === null) return Number.NaN;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof DuckDBDecimalValue) return value.toDouble();
  throw new SegflowError(
    'SQL_FAILED',
    `column ${column} is not a number, and queryColumns reads numbers only`,
    `cast it in the query (CAST(… AS DOUBLE)); the statement was: ${sql.slice(0, 200)}`,
  );
}

function sqlError(e: unknown, sql: string): SegflowError {
  const message = errorMessage(e);
  if (/Could not set lock on file|Conflicting lock/.test(message)) {
    return new SegflowError(
      'DB_LOCKED',
      `the database is in use by another process: ${message.split('\n')[0]}`,
      'stop the other segflow process (for example `segflow serve`), or query it through its API',
    );
  }
  return new SegflowError('SQL_FAILED', message, `the statement was: ${sql.slice(0, 300)}`, { cause: e });
}

/** A promise chain that serializes use of the single connection: DuckDB connections are not re-entrant. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  lock<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

class DuckDBWarehouse implements Warehouse {
  readonly engine: string = 'duckdb';
  readonly atomicTransactions = true;
  readonly dialect = duckdbDialect;
  readonly storage: Storage = createStorage(this, duckdbPorts, {
    stageFile: (spec) => copyFileIn(this, spec),
  });
  private closed = false;
  constructor(
    readonly location: string,
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly mutex: Mutex,
    private readonly inTransaction: boolean,
    private readonly checkpointOnClose = true,
    /** A reader connection (`reader()`): closing it closes only the connection, not the instance. */
    private readonly isReader = false,
    /** Set on the handle `exclusive()` gives: the warehouse whose lock it holds (and whose reader it shares). */
    private readonly heldFor?: DuckDBWarehouse,
  ) {}

  private guard<T>(fn: () => Promise<T>): Promise<T> {
    // Inside a transaction the caller already holds the lock; taking it again would deadlock.
    return this.inTransaction ? fn() : this.mutex.lock(fn);
  }

  exclusive<T>(fn: (wh: Warehouse) => Promise<T>): Promise<T> {
    if (this.inTransaction || this.heldFor) return fn(this);
    // The handle holds the connection's lock throughout; its own lock still takes its statements one at a time.
    return this.mutex.lock(() =>
      fn(
        new DuckDBWarehouse(
          this.location,
          this.instance,
          this.conn,
          new Mutex(),
          false,
          this.checkpointOnClose,
          this.isReader,
          this,
        ),
      ),
    );
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.guard(async () => {
      try {
        return (await this.execute(sql, params)).rowsChanged;
      } catch (e) {
        throw sqlError(e, sql);
      }
    });
  }

  query<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.guard(async () => {
      try {
        const reader = new DuckDBResultReader(await this.execute(sql, params));
        await reader.readAll();
        return reader.getRowObjectsJS().map((r) => normalizeRow(r as Record<string, unknown>) as T);
      } catch (e) {
        throw sqlError(e, sql);
      }
    });
  }

  queryColumns(sql: string, params: readonly SqlValue[] = []): Promise<NumericColumns> {
    return this.guard(async () => {
      let result: DuckDBMaterializedResult;
      try {
        result = await this.execute(sql, params);
      } catch (e) {
        throw sqlError(e, sql);
      }
      const names = result.columnNames();
      const rows = result.rowCount;
      const out = names.map(() => new Float64Array(rows));
      let at = 0;
      for (let c = 0; c < result.chunkCount; c++) {
        const chunk = result.getChunk(c);
        const n = chunk.rowCount;
        for (let j = 0; j < names.length; j++) {
          const vector = chunk.getColumnVector(j);
          const column = out[j]!;
          const bulk = vector.type.typeId === DuckDBTypeId.DOUBLE ? doubleBuffers(vector) : undefined;
          if (!bulk) {
            for (let i = 0; i < n; i++) column[at + i] = numberOf(vector.getItem(i), names[j]!, sql);
            continue;
          }
          column.set(bulk.items.subarray(0, n), at);
          const { mask, offset } = bulk;
          if (!mask) continue;
          for (let i = 0; i < n; i++) {
            const bit = offset + i;
            if (((mask[bit >> 3]! >> (bit & 7)) & 1) === 0) column[at + i] = Number.NaN;
          }
        }
        at += n;
      }
      return { rows, columns: Object.fromEntries(names.map((name, j) => [name, out[j]!])) };
    });
  }

  /**
   * One statement in as few calls into the engine as possible: each call is a trip through the event loop, which a
   * busy server (the collector under load) makes long. Without parameters that is one call; with them, prepare and
   * run (the client's own path with values also splits the text into statements first, a third call).
   */
  private async execute(sql: string, params: readonly SqlValue[]): Promise<DuckDBMaterializedResult> {
    const started = SLOW_SQL_MS === undefined ? 0 : performance.now();
    try {
      if (params.length === 0) return await this.conn.run(sql);
      const prepared = await this.conn.prepare(sql);
      try {
        prepared.bind(params.map(toDuckValue), duckTypes(params));
        return await prepared.run();
      } finally {
        prepared.destroySync();
      }
    } finally {
      if (SLOW_SQL_MS !== undefined) logIfSlow(sql, performance.now() - started);
    }
  }

  async *stream<T extends Row = Row>(
    sql: string,
    params: readonly SqlValue[] = [],
    options: StreamOptions = {},
  ): AsyncIterable<T[]> {
    // The lock is held for the whole iteration so that no other statement interleaves with the open result.
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let acquired!: () => void;
    const ready = new Promise<void>((r) => {
      acquired = r;
    });
    if (this.inTransaction) acquired();
    else
      void this.mutex.lock(() => {
        acquired();
        return held;
      });
    await ready;
    try {
      let result: Awaited<ReturnType<DuckDBConnection['stream']>>;
      try {
        result = await this.conn.stream(sql, params.map(toDuckValue), duckTypes(params));
      } catch (e) {
        throw sqlError(e, sql);
      }
      let pending: T[] = [];
      for await (const rows of result.yieldRowObjectJs()) {
        for (const r of rows) pending.push(normalizeRow(r as Record<string, unknown>) as T);
        if (!options.batchRows || pending.length >= options.batchRows) {
          yield pending;
          pending = [];
        }
      }
      if (pending.length) yield pending;
    } finally {
      release();
    }
  }

  append(
    table: string,
    columns: readonly string[],
    rows: Iterable<readonly SqlValue[]> | AsyncIterable<readonly SqlValue[]>,
  ): Promise<number> {
    return this.guard(async () => {
      // The appender writes whole table rows; a staging temp table with exactly `columns` keeps callers explicit.
      const described = await this.conn.runAndReadAll(`DESCRIBE ${duckdbDialect.quoteIdent(table)}`);
      const tableCols = described.getRowObjectsJS().map((r) => String(r.column_name));
      if (tableCols.join('\u0000') !== columns.join('\u0000')) {
        throw new SegflowError(
          'SQL_FAILED',
          `append to ${table}: columns [${columns.join(', ')}] do not match the table's [${tableCols.join(', ')}]`,
          'append in the table column order',
        );
      }
      let appender: DuckDBAppender;
      try {
        appender = await this.conn.createAppender(table);
      } catch (e) {
        throw sqlError(e, `APPEND ${table}`);
      }
      let n = 0;
      try {
        for await (const row of rows) {
          for (const v of row) {
            if (v === null || v === undefined) appender.appendNull();
            else if (typeof v === 'string') appender.appendVarchar(v);
            else if (typeof v === 'number') appender.appendDouble(v);
            else if (typeof v === 'bigint') appender.appendBigInt(v);
            else if (typeof v === 'boolean') appender.appendBoolean(v);
            else appender.appendValue(toDuckValue(v), TIMESTAMP);
          }
          appender.endRow();
          n++;
        }
        appender.flushSync();
      } catch (e) {
        throw sqlError(e, `APPEND ${table}`);
      } finally {
        appender.closeSync();
      }
      return n;
    });
  }

  /** The reading connections (see `Warehouse.reader`), one per name, each opened on first use. */
  private readonly readers = new Map<string, Promise<DuckDBWarehouse>>();

  reader(name = 'reads'): Promise<Warehouse> {
    if (this.inTransaction) return Promise.resolve(this);
    if (this.heldFor) return this.heldFor.reader(name);
    let opening = this.readers.get(name);
    if (!opening) {
      opening = this.instance
        .connect()
        .then(
          (conn) =>
            new DuckDBWarehouse(
              this.location,
              this.instance,
              conn,
              new Mutex(),
              false,
              this.checkpointOnClose,
              true,
            ),
        );
      this.readers.set(name, opening);
    }
    return opening;
  }

  transaction<T>(fn: (tx: Warehouse) => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn(this);
    return this.mutex.lock(async () => {
      const tx = new DuckDBWarehouse(this.location, this.instance, this.conn, this.mutex, true);
      await this.conn.run('BEGIN TRANSACTION');
      try {
        const out = await fn(tx);
        await this.conn.run('COMMIT');
        return out;
      } catch (e) {
        await this.conn.run('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }

  readOnlyQuery(sql: string, params: readonly SqlValue[] = []): Promise<{ columns: string[]; rows: Row[] }> {
    return this.guard(async () => {
      let statementCount: number;
      try {
        statementCount = (await this.conn.extractStatements(sql)).count;
      } catch (e) {
        throw sqlError(e, sql);
      }
      if (statementCount !== 1) {
        throw new SegflowError(
          'SQL_NOT_READ_ONLY',
          `expected exactly one statement, got ${statementCount}`,
          'run one SELECT at a time',
        );
      }
      let prepared: Awaited<ReturnType<DuckDBConnection['prepare']>>;
      try {
        prepared = await this.conn.prepare(sql);
      } catch (e) {
        throw sqlError(e, sql);
      }
      // Everything but SELECT (INSERT, COPY, ATTACH, SET, …) may write or change settings.
      if (prepared.statementType !== StatementType.SELECT) {
        throw new SegflowError(
          'SQL_NOT_READ_ONLY',
          'only SELECT queries may run here; the statement would change data or settings',
          'write a SELECT (WITH … SELECT is fine); imports and refreshes have their own commands',
        );
      }
      try {
        if (params.length) prepared.bind(params.map(toDuckValue), duckTypes(params));
        const reader = await prepared.runAndReadAll();
        return {
          columns: reader.columnNames(),
          rows: reader.getRowObjectsJS().map((r) => normalizeRow(r as Record<string, unknown>)),
        };
      } catch (e) {
        throw sqlError(e, sql);
      }
    });
  }

  exportToFile(
    sql: string,
    params: readonly SqlValue[],
    file: { path: string; format: 'parquet' | 'csv' | 'ndjson' },
  ): Promise<number> {
    // COPY cannot take its target as a bound parameter, so the path is quoted as a literal after escaping.
    const target = `'${file.path.replaceAll("'", "''")}'`;
    const options = {
      parquet: 'FORMAT PARQUET, COMPRESSION ZSTD',
      csv: 'FORMAT CSV, HEADER',
      ndjson: 'FORMAT JSON',
    }[file.format];
    return this.guard(async () => {
      try {
        const reader = await this.conn.runAndReadAll(
          `COPY (${sql}) TO ${target} (${options})`,
          params.map(toDuckValue),
          duckTypes(params),
        );
        return Number(reader.getRowsJS()[0]?.[0] ?? 0);
      } catch (e) {
        throw sqlError(e, sql);
      }
    });
  }

  private walBytes(): number {
    if (this.location === ':memory:') return 0;
    try {
      return statSync(`${this.location}.wal`).size;
    } catch {
      return 0; // no log: nothing was written since the last checkpoint
    }
  }

  progress(): number | undefined {
    const p = this.conn.progress;
    return p.total_rows_to_process > 0n || p.percentage >= 0
      ? Math.max(0, Math.min(1, p.percentage / 100))
      : undefined;
  }

  async close(): Promise<void> {
    if (this.closed || this.inTransaction || this.heldFor) return;
    this.closed = true;
    if (this.isReader) {
      await this.mutex.lock(async () => this.conn.closeSync());
      return;
    }
    // The readers go first: the instance closes with no connection of its own still open.
    for (const opening of this.readers.values()) await (await opening.catch(() => undefined))?.close();
    await this.mutex.lock(async () => {
      if (!this.checkpointOnClose && this.walBytes() < SMALL_WAL_BYTES) {
        // The log is durable (each commit is flushed), so leaving it is safe; a later writer folds it in.
        await this.conn.run('PRAGMA disable_checkpoint_on_shutdown').catch(() => undefined);
      }
      this.conn.closeSync();
      this.instance.closeSync();
    });
  }
}

export async function openDuckDB(options: DuckDBOpenOptions): Promise<Warehouse> {
  // Built without ICU, DuckDB keeps TIMESTAMPTZ in UTC, which is what segflow stores. Extensions are never fetched:
  // everything segflow uses (JSON, Parquet, CSV) is built in, and machines may have no network.
  const config: Record<string, string> = {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  };
  if (options.readOnly) config.access_mode = 'READ_ONLY';
  if (options.threads) config.threads = String(options.threads);
  if (options.readOnly && options.path !== ':memory:' && !existsSync(options.path)) {
    throw new SegflowError(
      'DB_OPEN_FAILED',
      `no database at ${options.path}`,
      'import events first (`segflow import FILE`), or pass --db with the path of an existing database',
    );
  }
  let instance: DuckDBInstance;
  try {
    instance = await duckdb.DuckDBInstance.create(options.path, config);
  } catch (e) {
    const err = sqlError(e, `open ${options.path}`);
    if (err.code === 'DB_LOCKED') throw err;
    throw new SegflowError(
      'DB_OPEN_FAILED',
      `cannot open database ${options.path}: ${errorMessage(e).split('\n')[0]}`,
      'check the path and permissions; a file that is not a DuckDB database cannot be used',
      { cause: e },
    );
  }
  const conn = await instance.connect();
  // Progress tracking feeds `progress()` (the CLI's bars); DuckDB's own printing stays off. One call: each is a trip
  // through the event loop (these are the connection's settings, which an instance's configuration cannot carry).
  await conn.run('SET enable_progress_bar = true; SET enable_progress_bar_print = false');
  return new DuckDBWarehouse(
    options.path,
    instance,
    conn,
    new Mutex(),
    false,
    options.checkpointOnClose ?? true,
  );
}
