import { openDuckDB } from './duckdb/duckdb-warehouse.js';
import { migrate } from './migrate.js';
import type { Warehouse } from './warehouse.js';

export const DEFAULT_DB_PATH = './segflow.duckdb';

export interface OpenWarehouseOptions {
  /** Database file; ':memory:' for a throwaway database (tests). Default ./segflow.duckdb. */
  path?: string;
  /** Open without write access: for queries while nothing else writes. Skips migrations. */
  readOnly?: boolean;
  /** Stop migrating at this schema version (tests of the upgrade path). */
  schemaVersion?: number;
}

/** Open (creating if needed) a segflow database and bring its schema up to date. */
export async function openWarehouse(options: OpenWarehouseOptions = {}): Promise<Warehouse> {
  const path = options.path ?? DEFAULT_DB_PATH;
  const wh = await openDuckDB({ path, readOnly: options.readOnly ?? false });
  if (!options.readOnly) {
    try {
      await migrate(wh, options.schemaVersion);
    } catch (e) {
      await wh.close();
      throw e;
    }
  }
  return wh;
}
