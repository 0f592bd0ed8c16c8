import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openChdbTransport } from '../../src/engine/clickhouse/chdb-transport.js';
import { openClickHouseOn } from '../../src/engine/clickhouse/clickhouse-warehouse.js';
import { openWarehouse } from '../../src/engine/open.js';
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

/**
 * An engine the engine-facing suites run on, as kysely runs its tests for each dialect: `for (const engine of
 * ENGINES)`. `share` is the part of a suite's random cases to run on it: chdb is an engine per process with a cost
 * per statement (planning the refresh's large queries takes most of a second), so its suites run a fortieth of
 * DuckDB's cases, at least one (CI time on 2 cores).
 */
export interface TestEngine {
  name: 'duckdb' | 'clickhouse';
  /** A migrated segflow warehouse, empty: DuckDB in memory, ClickHouse embedded in a fresh folder. */
  open(): Promise<Warehouse>;
  share: number;
}

const ALL_ENGINES: readonly TestEngine[] = [
  { name: 'duckdb', open: () => openWarehouse({ path: ':memory:' }), share: 1 },
  {
    name: 'clickhouse',
    async open() {
      const folder = mkdtempSync(join(tmpdir(), 'segflow-chdb-'));
      process.once('exit', () => rmSync(folder, { recursive: true, force: true }));
      return openWarehouse({ clickhouse: { folder, database: 'segflow' } });
    },
    share: 0.025,
  },
];

/** The engines to test on: all, or those named in SEGFLOW_TEST_ENGINES (e.g. `duckdb`, `clickhouse`). */
export const ENGINES: readonly TestEngine[] = ALL_ENGINES.filter(
  (e) => !process.env.SEGFLOW_TEST_ENGINES || process.env.SEGFLOW_TEST_ENGINES.split(',').includes(e.name),
);

/** How many of `count` random cases to run on `engine` (at least one). */
export function casesOn(engine: TestEngine, count: number): number {
  return Math.max(1, Math.round(count * engine.share));
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
