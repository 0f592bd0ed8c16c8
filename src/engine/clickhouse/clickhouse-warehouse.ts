import { writeFile } from 'node:fs/promises';
import { errorMessage, SegflowError } from '../../errors.js';
import type { Storage } from '../ports.js';
import { createStorage } from '../storage.js';
import type { NumericColumns, Row, SqlValue, StreamOptions, Warehouse } from '../warehouse.js';
import { clickhouseDialect } from './clickhouse-dialect.js';
import { uploadFile } from './clickhouse-file-upload.js';
import { bindLiterals, dateTimeText } from './clickhouse-literals.js';
import { clickhousePorts } from './clickhouse-ports.js';
import type { ClickHouseTransport, CompactResult } from './transport.js';

const q = clickhouseDialect.quoteIdent;

/** Rows per INSERT when appending: large blocks are what MergeTree writes best. */
const APPEND_ROWS = 50_000;

/** Statements that answer rows; everything else runs as a command. */
const READS = /^\s*(?:\(\s*)*(?:SELECT|WITH|SHOW|DESCRIBE|DESC|EXPLAIN|EXISTS)\b/i;

/**
 * The count query for a DELETE or UPDATE (their WHERE on the same table), which ClickHouse runs without reporting
 * how many rows they changed; undefined for other statements.
 */
function changedRowsQuery(sql: string): string | undefined {
  const all = /^\s*DELETE\s+FROM\s+([\w."]+)\s*;?\s*$/i.exec(sql);
  if (all) return `SELECT count() FROM ${all[1]}`;
  const m =
    /^\s*DELETE\s+FROM\s+([\w."]+)\s+WHERE\s+([\s\S]+?)\s*;?\s*$/i.exec(sql) ??
    /^\s*UPDATE\s+([\w."]+)\s+SET\s+[\s\S]+?\s+WHERE\s+([\s\S]+?)\s*;?\s*$/i.exec(sql);
  return m ? `SELECT count() FROM ${m[1]} WHERE ${m[2]}` : undefined;
}

/** A table name as written in a statement, unquoted: `"_sf_checked"` → `_sf_checked`. */
const bareName = (name: string) => name.replace(/^"(.*)"$/, '$1');

/**
 * A DELETE or UPDATE as ClickHouse runs it: SQL's `DELETE FROM t` (every row) is a TRUNCATE (ClickHouse's DELETE
 * needs a WHERE), and
 * session (temporary) tables take no lightweight DELETE or UPDATE, only the mutation form `ALTER TABLE t DELETE`.
 * Other statements are returned as they are.
 *
 * @example
 * clickhouseWrite('DELETE FROM person_overrides', new Set()) // 'TRUNCATE TABLE person_overrides'
 * clickhouseWrite('DELETE FROM _sf_checked WHERE x', new Set(['_sf_checked'])) // 'ALTER TABLE _sf_checked DELETE WHERE x'
 */
export function clickhouseWrite(sql: string, scratch: ReadonlySet<string>): string {
  // Every row: TRUNCATE drops the parts at once, where a lightweight DELETE masks every row and rewrites them later.
  const all = /^\s*DELETE\s+FROM\s+((?:"[^"]+"|[\w.]+))\s*;?\s*$/i.exec(sql);
  if (all) return `TRUNCATE TABLE ${all[1]}`;
  const text = sql;
  const del = /^\s*DELETE\s+FROM\s+((?:"[^"]+"|[\w.]+))\s+WHERE\s+([\s\S]+)$/i.exec(text);
  if (del && scratch.has(bareName(del[1]!))) return `ALTER TABLE ${del[1]} DELETE WHERE ${del[2]}`;
  const upd = /^\s*UPDATE\s+((?:"[^"]+"|[\w.]+))\s+SET\s+([\s\S]+)$/i.exec(text);
  if (upd && scratch.has(bareName(upd[1]!))) return `ALTER TABLE ${upd[1]} UPDATE ${upd[2]}`;
  return text;
}

/**
 * A scratch table's DELETE whose WHERE reads other tables, as statements that work: ClickHouse refuses a mutation of
 * a temporary table with a subquery (code 291: "Direct access to `_temporary_and_external_tables` database is not
 * allowed"), so the rows to keep are copied out, the table emptied and refilled — all within the session. A row is
 * kept where the condition is false or NULL, as a DELETE keeps it. Undefined for any other statement (mutations
 * without a subquery work on temporary tables and stay as they are).
 *
 * @example
 * scratchDeleteByRefill('ALTER TABLE _sf_checked DELETE WHERE id IN (SELECT id FROM t)', new Set(['_sf_checked']))
 * // ['DROP TEMPORARY TABLE IF EXISTS "_sf_keep"',
 * //  'CREATE TEMPORARY TABLE "_sf_keep" ENGINE = Memory AS SELECT * FROM _sf_checked WHERE isZeroOrNull(id IN (SELECT id FROM t))',
 * //  'TRUNCATE TABLE _sf_checked', 'INSERT INTO _sf_checked SELECT * FROM "_sf_keep"', 'DROP TEMPORARY TABLE IF EXISTS "_sf_keep"']
 */
export function scratchDeleteByRefill(sql: string, scratch: ReadonlySet<string>): string[] | undefined {
  const del = /^\s*ALTER\s+TABLE\s+((?:"[^"]+"|[\w.]+))\s+DELETE\s+WHERE\s+([\s\S]+?)\s*;?\s*$/i.exec(sql);
  if (!del || !scratch.has(bareName(del[1]!)) || !/\bSELECT\b/i.test(del[2]!)) return undefined;
  const table = del[1]!;
  const keep = q('_sf_keep');
  return [
    `DROP TEMPORARY TABLE IF EXISTS ${keep}`,
    `CREATE TEMPORARY TABLE ${keep} ENGINE = Memory AS SELECT * FROM ${table} WHERE isZeroOrNull(${del[2]})`,
    `TRUNCATE TABLE ${table}`,
    `INSERT INTO ${table} SELECT * FROM ${keep}`,
    `DROP TEMPORARY TABLE IF EXISTS ${keep}`,
  ];
}

/** A reference to table `name` in SQL text, quoted or not (not part of a longer name). */
function scratchReference(name: string, flags = ''): RegExp {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\w".])(?:"${escaped}"|${escaped})(?![\\w"])`, flags);
}

/** Keeps `scratch` in step with the session's temporary tables as statements create and drop them. */
function trackScratch(sql: string, scratch: Set<string>): void {
  const created = /^\s*CREATE\s+TEMPORARY\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?("[^"]+"|\w+)/i.exec(sql);
  if (created) scratch.add(bareName(created[1]!));
  const dropped = /^\s*DROP\s+TEMPORARY\s+TABLE\s+(?:IF\s+EXISTS\s+)?("[^"]+"|\w+)/i.exec(sql);
  if (dropped) scratch.delete(bareName(dropped[1]!));
}

/**
 * The table an INSERT writes to, whose row count before and after tells how many rows it inserted. The counts read
 * part metadata only (`final = 0`), so they cost nothing on any size of table; a writer in another process inserting
 * at the same moment would be counted too.
 */
function insertTarget(sql: string): string | undefined {
  return /^\s*INSERT\s+INTO\s+((?:"[^"]+"|\w+)(?:\.(?:"[^"]+"|\w+))?)/i.exec(sql)?.[1];
}

/** A column type without the wrappers that do not change how its values read. */
function baseType(type: string): string {
  const m = /^(?:Nullable|LowCardinality)\((.*)\)$/.exec(type);
  return m ? baseType(m[1]!) : type;
}

/** Integers come back as text (exactly); hand JavaScript a number whenever it is exact, as the DuckDB adapter does. */
function integer(v: unknown): unknown {
  const b = BigInt(v as string);
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(b)
    : b.toString();
}

/**
 * A float as JSON gives it: a number, or text for what JSON has no number for (`output_format_json_quote_denormals`
 * writes "nan", "inf", "-inf", which Number() does not read as infinities).
 */
function float(v: unknown): number {
  if (typeof v === 'number') return v;
  const text = String(v);
  if (text === 'inf' || text === '+inf') return Number.POSITIVE_INFINITY;
  if (text === '-inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** The converter of a column's values from JSON to what JavaScript callers get from the DuckDB adapter. */
function converter(type: string): ((v: unknown) => unknown) | undefined {
  const t = baseType(type);
  if (/^U?Int(64|128|256)$/.test(t)) return integer;
  if (/^(Float|Decimal|BFloat)/.test(t)) return float;
  if (/^DateTime/.test(t)) return (v) => new Date(`${String(v).replace(' ', 'T')}Z`);
  if (/^Date(32)?$/.test(t)) return (v) => new Date(`${String(v)}T00:00:00Z`);
  return undefined;
}

/**
 * Result column names as SQL names them: after two or more joins ClickHouse names a qualified column by its
 * qualified text (`a.person_id`), where DuckDB and the SQL standard say `person_id`. The qualifier is dropped when
 * that leaves the name unique.
 */
function columnNames(meta: CompactResult['meta']): string[] {
  const bare = meta.map(
    (m) => /^[A-Za-z_][A-Za-z0-9_]*\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(m.name)?.[1] ?? m.name,
  );
  return meta.map((m, i) => (bare.filter((b) => b === bare[i]).length === 1 ? bare[i]! : m.name));
}

function toRows<T extends Row>(result: CompactResult): T[] {
  const names = columnNames(result.meta);
  const convert = result.meta.map((m) => converter(m.type));
  return result.data.map((values) => {
    const row: Row = {};
    for (let i = 0; i < names.length; i++) {
      const v = values[i];
      const c = convert[i];
      row[names[i]!] = v === null || !c ? v : c(v);
    }
    return row as T;
  });
}

/** A value for JSONCompactEachRow input. */
function inputValue(v: SqlValue): unknown {
  if (v instanceof Date) return dateTimeText(v);
  // JSON has no NaN or infinities (JSON.stringify would write null, a different value): ClickHouse reads them quoted.
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  if (typeof v === 'bigint') return v.toString();
  return v;
}

/**
 * A ClickHouse error as a SegflowError: configuration mistakes name the setting to fix, an engine that cannot be
 * reached is retryable (CLICKHOUSE_UNAVAILABLE), the rest is the statement's fault (SQL_FAILED).
 *
 * @example
 * clickhouseError(new Error('connect ECONNREFUSED 127.0.0.1:8123'), 'SELECT 1', 'http://127.0.0.1:8123').code
 * // 'CLICKHOUSE_UNAVAILABLE'
 */
export function clickhouseError(e: unknown, sql: string, location: string): SegflowError {
  if (e instanceof SegflowError) return e;
  const message = errorMessage(e);
  const code = (e as { code?: string }).code;
  if (
    /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|socket hang up|Timeout error/i.test(
      `${message} ${code ?? ''}`,
    )
  ) {
    return new SegflowError(
      'CLICKHOUSE_UNAVAILABLE',
      `ClickHouse at ${location} cannot be reached: ${message.split('\n')[0]}`,
      'check clickhouse.url (or SEGFLOW_CLICKHOUSE_URL / --clickhouse-url) and that the server is running; the operation can be retried',
      { cause: e },
    );
  }
  if (
    /AUTHENTICATION_FAILED|Authentication failed|REQUIRED_PASSWORD|code: 516\b|Code: 516\b/i.test(message) ||
    code === '516'
  ) {
    return new SegflowError(
      'CLICKHOUSE_CONFIG',
      `ClickHouse at ${location} refused the user name or password`,
      'set clickhouse.username and clickhouse.password (or SEGFLOW_CLICKHOUSE_USERNAME / SEGFLOW_CLICKHOUSE_PASSWORD)',
      { cause: e },
    );
  }
  if (/UNKNOWN_DATABASE|Database .* does not exist/i.test(message) || code === '81') {
    return new SegflowError(
      'CLICKHOUSE_CONFIG',
      `the ClickHouse database named in clickhouse.database does not exist at ${location}: ${message.split('\n')[0]}`,
      'create it (CREATE DATABASE name) or set clickhouse.database (or SEGFLOW_CLICKHOUSE_DATABASE) to an existing one',
      { cause: e },
    );
  }
  return new SegflowError('SQL_FAILED', message, `the statement was: ${sql.slice(0, 300)}`, { cause: e });
}

/** A promise chain that serializes use of the session: one statement at a time, as ClickHouse sessions require. */
class Mutex {
  /** The session's temporary tables (scratch relations), which take other DELETE and UPDATE statements. */
  readonly scratch = new Set<string>();
  private tail: Promise<unknown> = Promise.resolve();
  lock<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

class ClickHouseWarehouse implements Warehouse {
  readonly engine: string = 'clickhouse';
  /** See `transaction`. */
  readonly atomicTransactions = false;
  readonly dialect = clickhouseDialect;
  readonly storage: Storage;
  private closed = false;
  constructor(
    private readonly transport: ClickHouseTransport,
    readonly database: string,
    private readonly mutex: Mutex,
    private readonly inTransaction: boolean,
  ) {
    const render = clickhousePorts(database);
    const sendFile = transport.sendFile?.bind(transport);
    this.storage = createStorage(this, render, {
      // A server reads files on its own disk only: files on this machine are sent to it (the embedded engine reads
      // them where they lie, the default).
      ...(sendFile && {
        stageFile: (spec) =>
          uploadFile(
            {
              run: (sql) => this.run(sql),
              query: <T extends Row>(sql: string) => this.query<T>(sql),
              send: (insert, body) => this.guard(() => this.attempt(insert, () => sendFile(insert, body))),
            },
            spec,
          ),
      }),
      // Columns taken through two or more joins come out named `t.x` (see columnNames); a scratch relation is read
      // by plain names, so its columns are named as SQL would name them.
      createScratch: async (spec) => {
        for (const s of render.createScratch(spec)) await this.run(s.sql, s.params);
        if ('columns' in spec && spec.rows) {
          await this.append(
            spec.name,
            spec.columns.map(([n]) => n),
            spec.rows,
          );
        }
        if ('select' in spec) await this.nameScratchColumns(spec.name);
      },
    });
  }

  get location(): string {
    return this.transport.location;
  }

  /**
   * Name a scratch table's columns as SQL would: columns taken through two or more joins come out named `t.x` (see
   * columnNames), and a scratch relation is read by plain names. Read from the stored table, after it is made: asking
   * first (`DESCRIBE (select)`) analysed the select a second time, which builds its IN sets and runs its scalar
   * subqueries — half the cost of making the table again for a scoped segment evaluation. ClickHouse cannot rename
   * a dotted (nested) column, so the rare table that needs it is copied once under the plain names.
   */
  private async nameScratchColumns(name: string): Promise<void> {
    const described = await this.query<{ name: string }>(`DESCRIBE TABLE ${q(name)}`);
    const meta = described.map((d) => ({ name: d.name, type: '' }));
    const names = columnNames(meta);
    if (names.every((n, i) => n === meta[i]!.name)) return;
    const list = meta.map((m, i) => `${q(m.name)} AS ${q(names[i]!)}`).join(', ');
    const named = `${name}__named`;
    for (const s of [
      `DROP TEMPORARY TABLE IF EXISTS ${q(named)}`,
      `CREATE TEMPORARY TABLE ${q(named)} ENGINE = Memory AS SELECT ${list} FROM ${q(name)}`,
      `DROP TEMPORARY TABLE ${q(name)}`,
      `CREATE TEMPORARY TABLE ${q(name)} ENGINE = Memory AS SELECT * FROM ${q(named)}`,
      `DROP TEMPORARY TABLE ${q(named)}`,
    ])
      await this.run(s);
  }

  private guard<T>(fn: () => Promise<T>): Promise<T> {
    return this.inTransaction ? fn() : this.mutex.lock(fn);
  }

  private async attempt<T>(sql: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw clickhouseError(e, sql, this.location);
    }
  }

  /**
   * A lightweight DELETE or UPDATE of a stored table runs as a mutation, outside the session, where the session's
   * temporary tables do not exist: each scratch table the statement reads is copied into the database for it (and
   * dropped after), and the statement reads the copy.
   */
  private async withScratchCopies(text: string, exec: (statement: string) => Promise<void>): Promise<void> {
    const mutation = /^\s*(?:DELETE\s+FROM|UPDATE|ALTER\s+TABLE)\s+("[^"]+"|[\w.]+)/i.exec(text);
    const reads = mutation
      ? [...this.mutex.scratch].filter(
          (name) => name !== bareName(mutation[1]!) && scratchReference(name).test(text),
        )
      : [];
    if (reads.length === 0) return exec(text);
    const copyOf = (name: string) => `${q(this.database)}.${q(`_sf_copy_${name}`)}`;
    let statement = text;
    for (const name of reads) {
      await this.transport.exec(`DROP TABLE IF EXISTS ${copyOf(name)}`);
      await this.transport.exec(`CREATE TABLE ${copyOf(name)} ENGINE = Memory AS SELECT * FROM ${q(name)}`);
      statement = statement.replace(scratchReference(name, 'g'), copyOf(name));
    }
    try {
      await exec(statement);
    } finally {
      for (const name of reads) await this.transport.exec(`DROP TABLE IF EXISTS ${copyOf(name)}`);
    }
  }

  /**
   * ClickHouse writes do not report how many rows they changed: a DELETE or UPDATE is counted first (its WHERE, on
   * the same table), an INSERT by the table's row count before and after; other statements return 0.
   */
  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.guard(async () => {
      const bound = bindLiterals(sql, params);
      const text = clickhouseWrite(bound, this.mutex.scratch);
      trackScratch(text, this.mutex.scratch);
      return this.attempt(sql, async () => {
        if (READS.test(text)) {
          await this.transport.select(text);
          return 0;
        }
        const counted = async (query: string) =>
          Number((await this.transport.select(query)).data[0]?.[0] ?? 0);
        const target = insertTarget(text);
        const rowsOf = `SELECT count() FROM ${target} SETTINGS final = 0`;
        // Counted in SQL's form (a TRUNCATE or a scratch table's mutation counts as its DELETE or UPDATE would).
        const counting = changedRowsQuery(bound);
        const before = target ? await counted(rowsOf) : counting ? await counted(counting) : 0;
        const refill = scratchDeleteByRefill(text, this.mutex.scratch);
        if (refill) for (const statement of refill) await this.transport.exec(statement);
        else await this.withScratchCopies(text, (statement) => this.transport.exec(statement));
        return target ? (await counted(rowsOf)) - before : before;
      });
    });
  }

  query<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.guard(async () => {
      const text = bindLiterals(sql, params);
      if (!READS.test(text)) {
        await this.attempt(sql, () => this.transport.exec(text));
        return [];
      }
      return toRows<T>(await this.attempt(sql, () => this.transport.select(text)));
    });
  }

  queryColumns(sql: string, params: readonly SqlValue[] = []): Promise<NumericColumns> {
    return this.guard(async () => {
      const result = await this.attempt(sql, () => this.transport.select(bindLiterals(sql, params)));
      const names = columnNames(result.meta);
      const rows = result.data.length;
      const columns = names.map((name, j) => {
        if (!/^(U?Int\d+|Float\d+|BFloat16|Decimal.*|Bool|Nothing)$/.test(baseType(result.meta[j]!.type))) {
          throw new SegflowError(
            'SQL_FAILED',
            `column ${name} is not a number (${result.meta[j]!.type}), and queryColumns reads numbers only`,
            `cast it in the query (CAST(… AS DOUBLE)); the statement was: ${sql.slice(0, 200)}`,
          );
        }
        const out = new Float64Array(rows);
        for (let i = 0; i < rows; i++) {
          const v = result.data[i]![j];
          out[i] = v === null || v === undefined ? Number.NaN : typeof v === 'boolean' ? Number(v) : float(v);
        }
        return [name, out] as const;
      });
      return { rows, columns: Object.fromEntries(columns) };
    });
  }

  /** Yields the rows in batches; the result is read whole first (a streaming read is future work). */
  async *stream<T extends Row = Row>(
    sql: string,
    params: readonly SqlValue[] = [],
    options: StreamOptions = {},
  ): AsyncIterable<T[]> {
    const rows = await this.query<T>(sql, params);
    const size = options.batchRows ?? 2048;
    for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
  }

  append(
    table: string,
    columns: readonly string[],
    rows: Iterable<readonly SqlValue[]> | AsyncIterable<readonly SqlValue[]>,
  ): Promise<number> {
    return this.guard(async () => {
      let n = 0;
      let lines: string[] = [];
      const flush = async () => {
        if (lines.length === 0) return;
        const text = `${lines.join('\n')}\n`;
        lines = [];
        await this.attempt(`INSERT INTO ${table}`, () => this.transport.insert(table, columns, text));
      };
      for await (const row of rows) {
        lines.push(JSON.stringify(row.map(inputValue)));
        n++;
        if (lines.length >= APPEND_ROWS) await flush();
      }
      await flush();
      return n;
    });
  }

  /** The session runs one request at a time already; holding its lock keeps others' statements out between these. */
  exclusive<T>(fn: (wh: Warehouse) => Promise<T>): Promise<T> {
    return this.transaction(fn);
  }

  /**
   * ClickHouse has no multi-statement transactions: `fn` runs with the session to itself (nothing interleaves), but
   * what it wrote before a failure stays written. The steps are written to be re-runnable for this reason.
   */
  transaction<T>(fn: (tx: Warehouse) => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn(this);
    return this.mutex.lock(() =>
      fn(new ClickHouseWarehouse(this.transport, this.database, this.mutex, true)),
    );
  }

  async readOnlyQuery(
    sql: string,
    params: readonly SqlValue[] = [],
  ): Promise<{ columns: string[]; rows: Row[] }> {
    const text = bindLiterals(sql, params);
    const body = text.trim().replace(/;\s*$/, '');
    if (body.includes(';')) {
      throw new SegflowError(
        'SQL_NOT_READ_ONLY',
        'expected exactly one statement',
        'run one SELECT at a time',
      );
    }
    if (!/^\s*(?:\(\s*)*(?:SELECT|WITH)\b/i.test(body) || /\bINTO\s+OUTFILE\b/i.test(body)) {
      throw new SegflowError(
        'SQL_NOT_READ_ONLY',
        'only SELECT queries may run here; the statement would change data or settings',
        'write a SELECT (WITH … SELECT is fine); imports and refreshes have their own commands',
      );
    }
    return this.guard(async () => {
      const result = await this.attempt(sql, () => this.transport.select(body));
      return { columns: columnNames(result.meta), rows: toRows(result) };
    });
  }

  exportToFile(
    sql: string,
    params: readonly SqlValue[],
    file: { path: string; format: 'parquet' | 'csv' | 'ndjson' },
  ): Promise<number> {
    const format = { parquet: 'Parquet', csv: 'CSVWithNames', ndjson: 'JSONEachRow' }[file.format];
    return this.guard(async () => {
      const text = bindLiterals(sql, params);
      const bytes = await this.attempt(sql, () => this.transport.raw(text, format));
      await writeFile(file.path, bytes);
      const counted = await this.attempt(sql, () =>
        this.transport.select(`SELECT count() AS n FROM (${text})`),
      );
      return Number(toRows<{ n: number }>(counted)[0]?.n ?? 0);
    });
  }

  progress(): number | undefined {
    return undefined;
  }

  /** Reads share the client: a ClickHouse server runs requests side by side (the embedded engine has one session). */
  reader(_name?: string): Promise<Warehouse> {
    return Promise.resolve(this);
  }

  async close(): Promise<void> {
    if (this.closed || this.inTransaction) return;
    this.closed = true;
    await this.mutex.lock(() => this.transport.close());
  }
}

/**
 * A Warehouse over a ClickHouse transport (embedded chdb or a server over HTTP), its tables in `database`.
 *
 * @example
 * const wh = openClickHouseOn(await openChdbTransport({ folder: dir, database: 'segflow' }), 'segflow');
 * await wh.query('SELECT 1 AS one'); // [{ one: 1 }]
 */
export function openClickHouseOn(transport: ClickHouseTransport, database: string): Warehouse {
  return new ClickHouseWarehouse(transport, database, new Mutex(), false);
}
