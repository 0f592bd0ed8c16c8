import { loadConfig } from '../config/config.js';
import {
  type ClickHouseConfig,
  DEFAULT_CHDB_FOLDER,
  EngineName,
  resolveClickHouseConfig,
} from '../engine/clickhouse/clickhouse-config.js';
import { DEFAULT_DB_PATH } from '../engine/open.js';
import { SegflowError } from '../errors.js';
import { currentInvocation } from './invocation.js';
import { refuseWhileServed } from './served-database.js';

/**
 * Which database a command means: the engine, the DuckDB file or ClickHouse settings, and where a server holding it
 * advertises itself — from the global options, the environment and segflow.config.yaml. context.ts loads this module
 * only when a config file or an engine option could change the answer (it holds the config file's parser).
 */
export interface GlobalOptions {
  db?: string;
  engine?: string;
  clickhouseUrl?: string;
}

/**
 * The ClickHouse settings when the engine is ClickHouse (--engine, else $SEGFLOW_ENGINE, else `engine:` in
 * segflow.config.yaml; a --clickhouse-url alone also selects it), else undefined (DuckDB).
 *
 * @example
 * resolveClickHouse({ engine: 'clickhouse', clickhouseUrl: 'http://127.0.0.1:8123' })
 * // { url: 'http://127.0.0.1:8123', database: 'segflow' } (plus SEGFLOW_CLICKHOUSE_* and the config file)
 */
export function resolveClickHouse(globals: GlobalOptions): ClickHouseConfig | undefined {
  const config = loadConfig();
  const named =
    globals.engine ||
    process.env.SEGFLOW_ENGINE ||
    config.engine ||
    (globals.clickhouseUrl ? 'clickhouse' : 'duckdb');
  const engine = EngineName.safeParse(named);
  if (!engine.success) {
    throw new SegflowError(
      'USAGE',
      `engine '${named}' is not known`,
      'use --engine duckdb or --engine clickhouse',
    );
  }
  if (engine.data !== 'clickhouse') return undefined;
  try {
    return resolveClickHouseConfig(config.clickhouse, process.env, { url: globals.clickhouseUrl });
  } catch (e) {
    throw new SegflowError(
      'CONFIG_INVALID',
      `ClickHouse settings: ${e instanceof Error ? e.message : String(e)}`,
      'check --clickhouse-url, the SEGFLOW_CLICKHOUSE_* variables and the clickhouse: section of segflow.config.yaml',
    );
  }
}

/** --db, else $SEGFLOW_DB, else `db:` in segflow.config.yaml, else ./segflow.duckdb. */
export function resolveDbPath(globals: GlobalOptions): string {
  // An empty variable counts as unset, as shells make it easy to export one by accident.
  return globals.db || process.env.SEGFLOW_DB || loadConfig().db || DEFAULT_DB_PATH;
}

/**
 * What `segflow serve` holds, as other processes of this machine look for it (its advertisement beside it, see
 * served-database.ts): the DuckDB file, or the embedded ClickHouse engine's folder — chdb runs one engine per folder
 * and a second process cannot open it, so commands go through the server as they do for a DuckDB file. Undefined for
 * a ClickHouse server: any number of processes use it at once, so nothing is held and nothing is forwarded.
 *
 * @example
 * servedLocation({ db: 'shop.duckdb' }) // 'shop.duckdb'
 * servedLocation({ engine: 'clickhouse' }) // './segflow.clickhouse' (clickhouse.folder when configured)
 * servedLocation({ engine: 'clickhouse', clickhouseUrl: 'http://127.0.0.1:8123' }) // undefined
 */
export function servedLocation(globals: GlobalOptions): string | undefined {
  const clickhouse = resolveClickHouse(globals);
  if (!clickhouse) return resolveDbPath(globals);
  return clickhouse.url ? undefined : (clickhouse.folder ?? DEFAULT_CHDB_FOLDER);
}

/**
 * For commands that need the database to themselves (the erasure rewrites it): refused inside a server, and refused
 * with who holds it and what to do when a server holds the DuckDB file or the chdb folder. A ClickHouse server is
 * shared by every process that reaches it, so nothing is refused there (the command must be safe beside other writers).
 */
export function requireDatabaseClosed(
  globals: GlobalOptions,
  command: string,
  whatToDo: string,
): ClaimedDatabase {
  return claimDatabase(globals, command, whatToDo);
}

/** The database a command that holds it (`serve`) opens, and where it advertises itself (see `servedLocation`). */
export interface ClaimedDatabase {
  /** The DuckDB file (unused with ClickHouse). */
  dbPath: string;
  clickhouse?: ClickHouseConfig;
  /** The file or chdb folder other processes find the server by; undefined for a ClickHouse server. */
  location?: string;
}

/**
 * For a command that holds the database while it runs (`segflow serve`), on either engine: refused inside a server,
 * and refused with who holds it and what to do when a server already holds the DuckDB file or the chdb folder. A
 * ClickHouse server is shared: nothing is refused there (several collectors may load into one ClickHouse).
 *
 * @example
 * const { dbPath, clickhouse, location } = claimDatabase(globals, 'segflow serve', 'use the running one');
 */
export function claimDatabase(globals: GlobalOptions, command: string, whatToDo: string): ClaimedDatabase {
  if (currentInvocation()) {
    throw new SegflowError('SERVER_RUNNING', `${command} cannot run inside segflow serve`, whatToDo);
  }
  const clickhouse = resolveClickHouse(globals);
  const location = servedLocation(globals);
  if (location !== undefined) refuseWhileServed(location, command, whatToDo);
  return {
    dbPath: resolveDbPath(globals),
    ...(clickhouse ? { clickhouse } : {}),
    ...(location !== undefined ? { location } : {}),
  };
}
