import { statSync } from 'node:fs';
import { SegflowError } from '../errors.js';
import type { ClickHouseConfig } from './clickhouse/clickhouse-config.js';
import type { Dialect } from './dialect.js';
import { backupDuckDB, duckDBFileSchemaVersion } from './duckdb/backup-file.js';
import { duckdbDialect } from './duckdb/duckdb-dialect.js';
import { openDuckDB } from './duckdb/duckdb-warehouse.js';
import { rewriteDuckDBFile } from './duckdb/rewrite-file.js';
import { migrate, readSchemaVersion } from './migrate.js';
import { LATEST_SCHEMA_VERSION } from './schema.js';
import type { Warehouse } from './warehouse.js';

export { zeroAndRemove } from './duckdb/rewrite-file.js';

export const DEFAULT_DB_PATH = './segflow.duckdb';

/** The embedded engine's dialect: for building SQL (e.g. checking segment definitions) without opening a database. */
export const DEFAULT_DIALECT: Dialect = duckdbDialect;

export interface OpenWarehouseOptions {
  /** Database file; ':memory:' for a throwaway database (tests). Default ./segflow.duckdb. */
  path?: string;
  /** Open without write access: for queries while nothing else writes. Skips migrations. */
  readOnly?: boolean;
  /** Stop migrating at this schema version (tests of the upgrade path). */
  schemaVersion?: number;
  /**
   * false for a command that writes a few rows (a model fit): DuckDB then leaves them in its write-ahead log, durable
   * and replayed at the next open, instead of checkpointing at close — about 100 ms of a short command on any file.
   * A log above 64 kB is still checkpointed, so it never grows across such commands (every open replays it). Default true.
   */
  checkpointOnClose?: boolean;
  /** DuckDB's threads (default one per core); see `isSmallDatabaseFile`. Ignored by ClickHouse. */
  threads?: number;
  /** Use ClickHouse (a server, or the embedded engine) instead of a DuckDB file; `path` is then ignored. */
  clickhouse?: ClickHouseConfig;
}

/**
 * Whether a DuckDB file is small enough (under 16 MB: a few hundred thousand events) that a command reading it runs
 * as fast on one thread: DuckDB splits a scan by row groups of 122,880 rows, so such a database's queries have little
 * to share, while a second thread has to start and be waited for. On the full CDNOW log (9 MB) a model fit's
 * summaries took a median 102 ms on one thread and 181 ms on two on the shared 2-core machine.
 */
export function isSmallDatabaseFile(path: string): boolean {
  if (path === ':memory:') return false;
  try {
    return statSync(path).size < 16 << 20;
  } catch {
    return false; // not created yet
  }
}

/** Open (creating if needed) a segflow database and bring its schema up to date. */
export async function openWarehouse(options: OpenWarehouseOptions = {}): Promise<Warehouse> {
  if (options.clickhouse) return openClickHouseWarehouse(options.clickhouse, options);
  const path = options.path ?? DEFAULT_DB_PATH;
  const wh = await openDuckDB({
    path,
    readOnly: options.readOnly ?? false,
    checkpointOnClose: options.checkpointOnClose ?? true,
    ...(options.threads ? { threads: options.threads } : {}),
  });
  try {
    if (!options.readOnly) await migrate(wh, options.schemaVersion);
    else {
      // A read-only open cannot migrate, so it only accepts a database at exactly this build's schema.
      const version = await readSchemaVersion(wh);
      if (version > LATEST_SCHEMA_VERSION) await migrate(wh); // throws DB_SCHEMA_TOO_NEW with its hint
      if (version < LATEST_SCHEMA_VERSION) {
        throw new SegflowError(
          'DB_SCHEMA_OLD',
          `${path} has schema version ${version}; this segflow reads version ${LATEST_SCHEMA_VERSION}`,
          'run any command that writes (for example `segflow import`) once to upgrade it',
        );
      }
    }
  } catch (e) {
    await wh.close();
    throw e;
  }
  return wh;
}

/** ClickHouse, loaded only when asked for (its client is not needed by DuckDB users), with its own schema. */
async function openClickHouseWarehouse(
  config: ClickHouseConfig,
  options: OpenWarehouseOptions,
): Promise<Warehouse> {
  const [{ openClickHouse }, { CLICKHOUSE_MIGRATIONS }] = await Promise.all([
    import('./clickhouse/open-clickhouse.js'),
    import('./clickhouse/clickhouse-schema.js'),
  ]);
  const wh = await openClickHouse(config);
  try {
    const version = await readSchemaVersion(wh);
    if (!options.readOnly) await migrate(wh, options.schemaVersion, CLICKHOUSE_MIGRATIONS);
    else if (version !== LATEST_SCHEMA_VERSION) {
      throw new SegflowError(
        'DB_SCHEMA_OLD',
        `ClickHouse database ${config.database} at ${wh.location} has schema version ${version}; this segflow reads version ${LATEST_SCHEMA_VERSION}`,
        'run any command that writes (for example `segflow import`) once to create or upgrade it',
      );
    }
  } catch (e) {
    await wh.close();
    throw e;
  }
  return wh;
}

/**
 * Fails with CLICKHOUSE_UNAVAILABLE, saying how to install it, when the embedded ClickHouse engine (chdb, an optional
 * dependency) is missing: for callers that would otherwise find out only after minutes of work.
 */
export async function requireEmbeddedClickHouse(): Promise<void> {
  const { requireChdb } = await import('./clickhouse/chdb-transport.js');
  await requireChdb();
}

/**
 * Rewrite a closed database into a fresh file holding only live rows, swapped in atomically (see rewrite-file.ts):
 * the erasure step of privacy deletes. The database must not be open anywhere.
 */
export async function rewriteDatabaseFile(
  path: string,
): Promise<{ bytesBefore: number; bytesAfter: number }> {
  return rewriteDuckDBFile(path);
}

/** What the erasure step did to the engine's files. */
export interface StorageErasure {
  /** Bytes on disk before and after: the DuckDB file (and its WAL), or ClickHouse's parts. */
  bytesBefore: number;
  bytesAfter: number;
  /** ClickHouse: the tables rewritten or merged (those that had deletes or mutations). */
  tables?: string[];
}

/**
 * The erasure step's engine part: make rows already deleted leave the engine's files, so that no byte of a deleted
 * person stays on disk. Each engine does it its own way: a DuckDB file is rewritten whole into a fresh file
 * (rewrite-file.ts); ClickHouse embedded (chdb) rewrites each table that had deletes and drops the old one with its
 * files; a ClickHouse server, which other processes may be writing to, merges the deleted rows out and waits for its
 * cleanup to remove the replaced parts (clickhouse-erase.ts). The database must not be open in this process; a file
 * or chdb folder must not be open anywhere.
 */
export async function eraseDeletedRows(options: {
  path?: string;
  clickhouse?: ClickHouseConfig;
}): Promise<StorageErasure> {
  if (!options.clickhouse) return rewriteDuckDBFile(options.path ?? DEFAULT_DB_PATH);
  const { eraseClickHouseDeletes } = await import('./clickhouse/clickhouse-erase.js');
  const wh = await openClickHouseWarehouse(options.clickhouse, {});
  try {
    return await eraseClickHouseDeletes(wh, options.clickhouse.url ? 'merge' : 'rewrite');
  } finally {
    await wh.close();
  }
}

/**
 * What to do instead of `segflow backup` on ClickHouse: segflow's backups are DuckDB files, and chdb cannot write
 * ClickHouse's own backups (its BACKUP needs `backups.allowed_path` or `backups.allowed_disk` in a server
 * configuration, which the embedded engine does not take: refused with code 318 when tried).
 */
export const CLICKHOUSE_BACKUP_HINT =
  "back ClickHouse up with ClickHouse itself: on a server whose configuration allows a backup disk, BACKUP DATABASE segflow TO Disk('backups', 'segflow.zip') (RESTORE DATABASE … FROM the same to bring it back); for the embedded engine (chdb), stop `segflow serve` and copy its folder (cp -a segflow.clickhouse segflow-backup.clickhouse), and to restore point clickhouse.folder at a copy; docs/scaling.md";

/** A consistent copy of an open database into a new file, while it stays in use (see duckdb/backup-file.ts). */
export async function backupToFile(wh: Warehouse, target: string): Promise<{ bytes: number }> {
  if (wh.engine === 'clickhouse') {
    throw new SegflowError(
      'USAGE',
      `segflow backup writes a DuckDB file and does not back up ClickHouse (${wh.location})`,
      CLICKHOUSE_BACKUP_HINT,
    );
  }
  return backupDuckDB(wh, target);
}

/** The schema version a closed database file was written at, without opening it for use; null if not segflow's. */
export function fileSchemaVersion(path: string): Promise<number | null> {
  return duckDBFileSchemaVersion(path);
}
