import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { configFileExists } from '../config/config-location.js';
import { INSTANT_FORMAT, parseInstant } from '../config/instant.js';
import type { ClickHouseConfig } from '../engine/clickhouse/clickhouse-config.js';
import { DEFAULT_DB_PATH, isSmallDatabaseFile, openWarehouse } from '../engine/open.js';
import type { Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';
import type { GlobalOptions } from './database-location.js';
import { DatabaseServed } from './database-served.js';
import { currentInvocation } from './invocation.js';
import type { ServedDatabase } from './served-database.js';
import { servedFilePath } from './served-file.js';

export type { GlobalOptions } from './database-location.js';

/**
 * The database a command opens (`path`, or `clickhouse`) and where a server holding it would advertise itself
 * (`location`, see database-location.ts's `servedLocation`). With no config file and no engine named (the usual
 * case) it is DuckDB at --db, else $SEGFLOW_DB, else ./segflow.duckdb — database-location.ts's rules when nothing
 * else is set, known here without loading the config file's parser and schemas (YAML, zod).
 */
async function databaseOf(
  globals: GlobalOptions,
): Promise<{ path: string; clickhouse?: ClickHouseConfig; location?: string }> {
  if (!globals.engine && !globals.clickhouseUrl && !process.env.SEGFLOW_ENGINE && !configFileExists()) {
    // An empty variable counts as unset, as in resolveDbPath.
    const path = globals.db || process.env.SEGFLOW_DB || DEFAULT_DB_PATH;
    return { path, location: path };
  }
  const where = await import('./database-location.js');
  const clickhouse = where.resolveClickHouse(globals);
  const path = where.resolveDbPath(globals);
  const location = where.servedLocation(globals);
  return { path, ...(clickhouse ? { clickhouse } : {}), ...(location === undefined ? {} : { location }) };
}

/** The live server holding the database at `location`, if any (served-database.ts is loaded only when it advertises). */
async function serverAt(location: string): Promise<ServedDatabase | undefined> {
  if (location === ':memory:' || location === '' || !existsSync(servedFilePath(location))) return undefined;
  return (await import('./served-database.js')).serverHolding(location);
}

/**
 * Open the database for one command and always close it, so the file is never left locked. When `segflow serve`
 * holds it, the command runs through the server instead: inside the server it gets the server's open database;
 * in another process `DatabaseServed` stops the command before it starts, and `main` sends it to the server.
 */
export async function withWarehouse<T>(
  globals: GlobalOptions,
  fn: (wh: Warehouse) => Promise<T>,
  options: {
    readOnly?: boolean;
    checkpointOnClose?: boolean;
    /** DuckDB on one thread when the database file is small (`isSmallDatabaseFile`): for commands of a few queries. */
    oneThreadWhenSmall?: boolean;
  } = {},
): Promise<T> {
  const held = currentInvocation()?.warehouse;
  if (held) return fn(held);
  const { path, clickhouse, location } = await databaseOf(globals);
  const served = location === undefined ? undefined : await serverAt(location);
  if (served) throw new DatabaseServed(served);
  const wh = await openWarehouse({
    path,
    readOnly: options.readOnly ?? false,
    clickhouse,
    checkpointOnClose: options.checkpointOnClose ?? true,
    ...(options.oneThreadWhenSmall && !clickhouse && isSmallDatabaseFile(path) ? { threads: 1 } : {}),
  });
  try {
    return await fn(wh);
  } finally {
    await wh.close();
  }
}

/** `--as-of` as a Date (undefined when not given); a clear usage error when it is not a date. */
export function parseAsOf(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = parseInstant(value);
  if (!d) throw new SegflowError('USAGE', `--as-of '${value}' is not a date`, `use ${INSTANT_FORMAT}`);
  return d;
}

/**
 * Before a command's action runs (main's preAction hook): when a live `segflow serve` holds its database, stop it
 * here — before it prints or writes anything — with `DatabaseServed`, which `main` answers by running it there.
 */
export async function forwardWhenServed(action: Command): Promise<void> {
  if (currentInvocation()) return;
  let location: string | undefined;
  try {
    ({ location } = await databaseOf(action.optsWithGlobals()));
  } catch {
    return; // a bad --engine or clickhouse: section: the command says so itself if it opens the database
  }
  if (location === undefined) return;
  const served = await serverAt(location);
  if (served) throw new DatabaseServed(served);
}
