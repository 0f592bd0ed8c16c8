import { loadConfig } from '../config/config.js';
import { INSTANT_FORMAT, parseInstant } from '../config/instant.js';
import { DEFAULT_DB_PATH, openWarehouse } from '../engine/open.js';
import type { Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';

export interface GlobalOptions {
  db?: string;
}

/** --db, else $SEGFLOW_DB, else `db:` in segflow.config.yaml, else ./segflow.duckdb. */
export function resolveDbPath(globals: GlobalOptions): string {
  // An empty variable counts as unset, as shells make it easy to export one by accident.
  return globals.db || process.env.SEGFLOW_DB || loadConfig().db || DEFAULT_DB_PATH;
}

/** Open the database for one command and always close it, so the file is never left locked. */
export async function withWarehouse<T>(
  globals: GlobalOptions,
  fn: (wh: Warehouse) => Promise<T>,
  options: { readOnly?: boolean } = {},
): Promise<T> {
  const wh = await openWarehouse({ path: resolveDbPath(globals), readOnly: options.readOnly ?? false });
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
