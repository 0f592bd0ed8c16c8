import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bindLiterals } from '../../src/engine/clickhouse/clickhouse-literals.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { openChdbForTest } from '../helpers/engines.js';
import { tempDir } from '../helpers/temp.js';

/** The ClickHouse warehouse's own behaviour on the embedded engine: values, counts, batches, refusals, files. */
describe('ClickHouse warehouse (chdb)', () => {
  let wh: Warehouse;
  const dir = tempDir();
  before(async () => {
    wh = await openChdbForTest();
    await wh.run(
      wh.dialect.createTable({
        name: 't',
        columns: [
          { name: 'k', type: 'text', notNull: true },
          { name: 'v', type: 'text' },
          { name: 'n', type: 'bigint' },
          { name: 'ts', type: 'timestamp' },
        ],
        primaryKey: ['k'],
      }),
    );
  });
  after(async () => {
    await wh.close();
  });

  test('bound values come back as they went in, whatever their characters', async () => {
    const tricky = "it's \\ a 'quote', a ? and $1 -- not a comment /* nor this */ \n and a newline";
    const when = new Date('2026-03-01T10:20:30.123Z');
    const [row] = await wh.query(
      `SELECT ? AS s, ? AS neg, ? AS big, ? AS t, ? AS yes, ? AS nothing, '?' AS literal, $2 - 1 AS again`,
      [tricky, -5, 9007199254740993n, when, true, null],
    );
    assert.deepEqual(row, {
      s: tricky,
      neg: -5,
      big: '9007199254740993',
      t: when,
      yes: true,
      nothing: null,
      literal: '?',
      again: -6,
    });
    assert.throws(() => bindLiterals('SELECT ?, ?', [1]), /more placeholders/);
    assert.throws(() => bindLiterals('SELECT $3', [1]), /\$3 has no value/);
  });

  test('append takes Dates, nulls and text with newlines; INSERT, DELETE and UPDATE report the rows they change', async () => {
    const when = new Date('2026-01-02T03:04:05.678Z');
    assert.equal(
      await wh.append(
        't',
        ['k', 'v', 'n', 'ts'],
        [
          ['a', 'line\nbreak', 1, when],
          ['b', null, null, null],
          ['c', 'x', 3, when],
        ],
      ),
      3,
    );
    assert.deepEqual(await wh.query('SELECT * FROM t ORDER BY k LIMIT 1'), [
      { k: 'a', v: 'line\nbreak', n: 1, ts: when },
    ]);
    assert.equal(await wh.run(`INSERT INTO t (k, v) VALUES ('x', 'tmp'), ('y', 'tmp')`), 2);
    assert.equal(await wh.run(`INSERT INTO t (k, v) SELECT k, v FROM t WHERE v = 'tmp'`), 2);
    assert.equal(await wh.run(`DELETE FROM t WHERE v = 'tmp'`), 2);
    assert.equal(await wh.run('UPDATE t SET v = ? WHERE n IS NOT NULL', ['set']), 2);
    assert.equal(await wh.run('DELETE FROM t WHERE k = ?', ['c']), 1);
    assert.equal(await wh.run('DELETE FROM t WHERE k = ?', ['c']), 0);
    assert.deepEqual(await wh.query('SELECT k, v FROM t ORDER BY k'), [
      { k: 'a', v: 'set' },
      { k: 'b', v: null },
    ]);
  });

  test('NaN and infinities survive append, bound values and sums (JSON has no number for them)', async () => {
    // A diverged model fit scores NaN: stored as NULL it vanished from sums, where DuckDB's sum is NaN.
    await wh.run(
      wh.dialect.createTable({
        name: 'floats',
        columns: [
          { name: 'k', type: 'text', notNull: true },
          { name: 'x', type: 'double' },
        ],
        primaryKey: ['k'],
      }),
    );
    const values = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1.5, null];
    await wh.append(
      'floats',
      ['k', 'x'],
      values.map((x, i) => [String(i), x]),
    );
    const rows = await wh.query<{ x: number | null }>('SELECT x FROM floats ORDER BY k');
    assert.deepEqual(
      rows.map((r) => r.x),
      values,
    );
    const [bound] = await wh.query('SELECT ? AS nan, ? AS inf, ? AS neg', values.slice(0, 3));
    assert.deepEqual(bound, {
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      neg: Number.NEGATIVE_INFINITY,
    });
    const [sums] = await wh.query<{ all: number; finite: number }>(
      "SELECT sum(x) AS all, sum(x) FILTER (WHERE k IN ('3', '4')) AS finite FROM floats",
    );
    assert.ok(Number.isNaN(sums!.all));
    assert.equal(sums!.finite, 1.5);
  });

  test('stream yields every row in batches of the asked size', async () => {
    const batches: number[] = [];
    for await (const rows of wh.stream('SELECT number AS i FROM numbers(10)', [], { batchRows: 4 })) {
      batches.push(rows.length);
    }
    assert.deepEqual(batches, [4, 4, 2]);
  });

  test('queryColumns: numbers column by column, NULL as NaN; other types refused', async () => {
    const { rows, columns } = await wh.queryColumns(
      `SELECT number / 4 AS d, if(number % 3 = 0, NULL, number * 2) AS n, toUInt64(number) * 1000000000000 AS big,
         number % 2 = 0 AS even, CAST(NULL AS Nullable(Float64)) AS none
       FROM numbers(6) WHERE number >= ? ORDER BY number`,
      [0],
    );
    assert.equal(rows, 6);
    assert.deepEqual(columns, {
      d: Float64Array.from([0, 0.25, 0.5, 0.75, 1, 1.25]),
      n: Float64Array.from([Number.NaN, 2, 4, Number.NaN, 8, 10]),
      big: Float64Array.from([0, 1e12, 2e12, 3e12, 4e12, 5e12]),
      even: Float64Array.from([1, 0, 1, 0, 1, 0]),
      none: Float64Array.from([Number.NaN, Number.NaN, Number.NaN, Number.NaN, Number.NaN, Number.NaN]),
    });
    await assert.rejects(wh.queryColumns("SELECT 1.5 AS a, 'x' AS name"), {
      code: 'SQL_FAILED',
      message: /column name is not a number/,
    });
  });

  test('readOnlyQuery runs one SELECT and refuses writes and second statements', async () => {
    assert.deepEqual(await wh.readOnlyQuery('SELECT count() AS n FROM t'), {
      columns: ['n'],
      rows: [{ n: 2 }],
    });
    await assert.rejects(wh.readOnlyQuery("INSERT INTO t (k) VALUES ('z')"), /only SELECT/);
    await assert.rejects(wh.readOnlyQuery('SELECT 1; DROP TABLE t'), /exactly one statement/);
    assert.deepEqual(await wh.query('SELECT count() AS n FROM t'), [{ n: 2 }]);
  });

  test('exportToFile writes the rows in the format asked for and counts them', async () => {
    const path = join(dir, 'out.csv');
    assert.equal(await wh.exportToFile('SELECT k, v FROM t ORDER BY k', [], { path, format: 'csv' }), 2);
    assert.equal(readFileSync(path, 'utf8'), '"k","v"\n"a","set"\n"b",\n');
  });
});
