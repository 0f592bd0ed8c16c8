import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openChdbTransport } from '../../src/engine/clickhouse/chdb-transport.js';
import { openClickHouseOn } from '../../src/engine/clickhouse/clickhouse-warehouse.js';
import type { Warehouse } from '../../src/engine/warehouse.js';

/**
 * A bare ClickHouse warehouse on the embedded engine (chdb) in a fresh folder, removed when the process exits: the
 * ClickHouse counterpart of `openDuckDB({ path: ':memory:' })` in engine-parameterised tests. chdb runs one engine
 * per process, so a test file opens one at a time.
 */
export async function openChdbForTest(): Promise<Warehouse> {
  const folder = mkdtempSync(join(tmpdir(), 'segflow-chdb-'));
  process.once('exit', () => rmSync(folder, { recursive: true, force: true }));
  return openClickHouseOn(await openChdbTransport({ folder, database: 'segflow' }), 'segflow');
}

/** SQL that tests write themselves (not the code under test), per engine. */
export const ENGINE_SQL = {
  duckdb: {
    /** Literal rows (SQL expressions) as a relation `x` with named columns. */
    rows: (columns: readonly string[], rows: readonly (readonly string[])[]) =>
      `(VALUES ${rows.map((r) => `(${r.join(', ')})`).join(', ')}) AS x(${columns.join(', ')})`,
  },
  clickhouse: {
    rows: (columns: readonly string[], rows: readonly (readonly string[])[]) =>
      `(${rows.map((r) => `SELECT ${r.map((v, i) => `${v} AS ${columns[i]}`).join(', ')}`).join(' UNION ALL ')}) AS x`,
  },
} as const;
