import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openDuckDB } from '../../src/engine/duckdb/duckdb-warehouse.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { ENGINE_SQL, openChdbForTest } from '../helpers/engines.js';

/** Dialect expressions that replaced engine-only SQL in the steps, run on each engine (one line per engine). */
const ENGINES = [
  {
    name: 'duckdb',
    open: () => openDuckDB({ path: ':memory:' }),
    numbers: 'range(11)',
    column: 'range',
    countIfBig: 'count(*) FILTER (WHERE x > 8)',
  },
  {
    name: 'clickhouse',
    open: openChdbForTest,
    numbers: 'numbers(11)',
    column: 'number',
    countIfBig: 'count(*) FILTER (WHERE x > 8)',
  },
] as const;

for (const engine of ENGINES) {
  describe(`${engine.name}: dialect expressions`, () => {
    let wh: Warehouse;
    before(async () => {
      wh = await engine.open();
    });
    after(async () => {
      await wh.close();
    });

    test('quantile interpolates between the values around the fraction', async () => {
      const d = wh.dialect;
      const [r] = await wh.query<{ p90: number; p50: number; p0: number }>(
        `SELECT ${d.quantile('x', 0.9)} AS p90, ${d.quantile('x', 0.5)} AS p50, ${d.quantile('x', 0)} AS p0
         FROM (SELECT CAST(${engine.column} AS DOUBLE) AS x FROM ${engine.numbers})`,
      );
      assert.deepEqual(r, { p90: 9, p50: 5, p0: 0 });
      const [even] = await wh.query<{ q: number }>(
        `SELECT ${d.quantile('x', 0.5)} AS q FROM ${ENGINE_SQL[engine.name].rows(['x'], [['1.0'], ['2.0']])}`,
      );
      assert.equal(even!.q, 1.5);
      assert.throws(() => d.quantile('x', 1.5), /not in \[0, 1\]/);
    });

    test('aggregateIf renders the FILTER clause: a count of none is 0, any other aggregate of none NULL', async () => {
      const d = wh.dialect;
      assert.equal(d.aggregateIf('count(*)', 'x > 8'), engine.countIfBig);
      const [r] = await wh.query<Record<string, unknown>>(
        `SELECT ${d.aggregateIf('count(*)', 'x > 8')} AS big, ${d.aggregateIf('sum(x)', 'x > 8')} AS big_sum,
                ${d.aggregateIf('count(*)', 'x > 100')} AS none, ${d.aggregateIf('sum(x)', 'x > 100')} AS none_sum,
                ${d.aggregateIf('max(x)', 'x > 100')} AS none_max, ${d.aggregateIf('avg(x)', 'x > 100')} AS none_avg
         FROM (SELECT CAST(${engine.column} AS DOUBLE) AS x FROM ${engine.numbers})`,
      );
      assert.deepEqual(
        Object.fromEntries(Object.entries(r!).map(([k, v]) => [k, v === null ? null : Number(v)])),
        { big: 2, big_sum: 19, none: 0, none_sum: null, none_max: null, none_avg: null },
      );
    });

    test('allColumnsExcept leaves out the named columns and keeps the rest in order', async () => {
      const rows = await wh.query(
        `SELECT ${wh.dialect.allColumnsExcept(['b', 'd'])} FROM (SELECT 1 AS a, 2 AS b, 3 AS c, 4 AS d)`,
      );
      assert.deepEqual(rows, [{ a: 1, c: 3 }]);
      assert.deepEqual(Object.keys(rows[0]!), ['a', 'c']);
    });
  });
}
