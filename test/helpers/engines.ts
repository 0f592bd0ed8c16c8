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
