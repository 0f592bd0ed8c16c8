import { rmSync } from 'node:fs';
import { openDuckDB } from '../engine/duckdb/duckdb-warehouse.js';

/** Convert a generated NDJSON file to Parquet with the engine's own writer, then remove the NDJSON. */
export async function convertNdjsonToParquet(ndjson: string, parquet: string): Promise<void> {
  const wh = await openDuckDB({ path: ':memory:' });
  try {
    const source = wh.dialect.readNdjson('?', {});
    await wh.exportToFile(`SELECT * FROM ${source}`, [ndjson], { path: parquet, format: 'parquet' });
  } finally {
    await wh.close();
  }
  rmSync(ndjson);
}
