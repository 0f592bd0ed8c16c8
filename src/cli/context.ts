import { loadConfig } from '../config/config.js';
import { DEFAULT_DB_PATH, openWarehouse } from '../engine/open.js';
import type { Warehouse } from '../engine/warehouse.js';

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
