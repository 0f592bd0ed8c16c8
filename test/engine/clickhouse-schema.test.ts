import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readSchemaVersion } from '../../src/engine/migrate.js';
import { openWarehouse } from '../../src/engine/open.js';
import { LATEST_SCHEMA_VERSION } from '../../src/engine/schema.js';
import type { Warehouse } from '../../src/engine/warehouse.js';

/** The ClickHouse schema has what the DuckDB schema has (tables, columns, views), in ClickHouse's own layout. */
describe('the ClickHouse schema', () => {
  let duck: Warehouse;
  let house: Warehouse;
  const folder = mkdtempSync(join(tmpdir(), 'segflow-chdb-schema-'));
  before(async () => {
    duck = await openWarehouse({ path: ':memory:' });
    house = await openWarehouse({ clickhouse: { folder, database: 'segflow' } });
  });
  after(async () => {
    await duck.close();
    await house.close();
    rmSync(folder, { recursive: true, force: true });
  });

  const columnsOf = async (wh: Warehouse) =>
    (
      await wh.query<{ table_name: string; column_name: string }>(
        `SELECT table_name, column_name FROM information_schema.columns
         WHERE table_catalog = current_database() ORDER BY table_name, column_name`,
      )
    ).map((r) => `${r.table_name}.${r.column_name}`);

  test('migrations bring a new database to the latest version, recorded as on DuckDB', async () => {
    assert.equal(await readSchemaVersion(house), LATEST_SCHEMA_VERSION);
    assert.equal(await readSchemaVersion(duck), LATEST_SCHEMA_VERSION);
  });

  test('every table and view has the same columns on both engines', async () => {
    const expected = await columnsOf(duck);
    const actual = await columnsOf(house);
    assert.ok(expected.length > 100, `DuckDB lists ${expected.length} columns`);
    assert.deepEqual(actual, expected);
  });

  test('events are partitioned by month and sorted for per-person reads, deduplicating by message', async () => {
    const [events] = await house.query<{ engine: string; partition_key: string; sorting_key: string }>(
      `SELECT engine, partition_key, sorting_key FROM system.tables WHERE database = currentDatabase() AND name = 'events'`,
    );
    assert.deepEqual(events, {
      engine: 'ReplacingMergeTree',
      partition_key: 'toYYYYMM(ts)',
      sorting_key: "ifNull(user_id, ifNull(anonymous_id, '')), ts, message_id",
    });
  });

  test('opening again migrates nothing and keeps the data', async () => {
    await house.run(
      `INSERT INTO api_keys (id, role, prefix, key_hash, created_at) VALUES ('k1', 'admin', 'p', 'h', now64(6, 'UTC'))`,
    );
    await house.close();
    house = await openWarehouse({ clickhouse: { folder, database: 'segflow' } });
    assert.deepEqual(await house.query('SELECT id FROM api_keys'), [{ id: 'k1' }]);
  });
});
