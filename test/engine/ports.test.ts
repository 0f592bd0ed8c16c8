import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TableDef } from '../../src/engine/dialect.js';
import { openDuckDB } from '../../src/engine/duckdb/duckdb-warehouse.js';
import type { Statement } from '../../src/engine/ports.js';
import type { Warehouse } from '../../src/engine/warehouse.js';

/**
 * The statement-level ports, tested the way kysely tests its dialects: for every engine, the SQL each port renders
 * (so a change of rendering is a visible decision) and the rows it leaves after running on a real database.
 * Adding an engine is one line in ENGINES; TypeScript then asks for its SQL in every `expectSql`.
 */
const ENGINES = [{ name: 'duckdb', open: () => openDuckDB({ path: ':memory:' }) }] as const;

type EngineName = (typeof ENGINES)[number]['name'];

function expectSql(
  engine: EngineName,
  rendered: Statement[],
  expected: Record<EngineName, Statement[]>,
): void {
  assert.deepEqual(
    rendered.map((s) => ({ sql: s.sql.replace(/\s+/g, ' '), params: s.params })),
    expected[engine],
  );
}

const KV: TableDef = {
  name: 'kv',
  columns: [
    { name: 'k', type: 'text', notNull: true },
    { name: 'v', type: 'text' },
    { name: 'n', type: 'bigint' },
    { name: 'ts', type: 'timestamp' },
  ],
  primaryKey: ['k'],
};

const t = (iso: string) => new Date(`2026-01-0${iso}T00:00:00.000Z`);

for (const engine of ENGINES) {
  describe(`${engine.name}: statement-level ports`, () => {
    let wh: Warehouse;
    before(async () => {
      wh = await engine.open();
    });
    after(async () => {
      await wh.close();
    });
    /** A fresh `kv` table with the given rows. */
    async function kv(rows: [string, string | null, number | null, Date | null][] = []): Promise<void> {
      await wh.run(`DROP TABLE IF EXISTS kv`);
      await wh.run(wh.dialect.createTable(KV));
      if (rows.length) await wh.append('kv', ['k', 'v', 'n', 'ts'], rows);
    }
    const rowsOf = (table = 'kv') => wh.query(`SELECT * FROM ${table} ORDER BY 1`);

    test('upsert of rows keeps the stored row when no update is asked for', async () => {
      await kv([['a', 'old', 1, null]]);
      const spec = {
        table: 'kv',
        columns: ['k', 'v'],
        key: ['k'],
        from: {
          rows: [
            ['a', 'new'],
            ['b', 'new'],
          ],
        },
      };
      expectSql(engine.name, wh.storage.render.upsert(spec), {
        duckdb: [
          {
            sql: 'INSERT INTO "kv" ("k", "v") VALUES (?, ?), (?, ?) ON CONFLICT ("k") DO NOTHING',
            params: ['a', 'new', 'b', 'new'],
          },
        ],
      });
      assert.equal(await wh.storage.upsert(spec), 1);
      assert.deepEqual(await rowsOf(), [
        { k: 'a', v: 'old', n: 1, ts: null },
        { k: 'b', v: 'new', n: null, ts: null },
      ]);
    });

    test('upsert with a list of columns takes their incoming values and leaves the others', async () => {
      await kv([['a', 'old', 1, t('1')]]);
      const spec = {
        table: 'kv',
        columns: ['k', 'v', 'n'],
        key: ['k'],
        from: { rows: [['a', 'new', 2]] },
        update: ['v'],
      };
      expectSql(engine.name, wh.storage.render.upsert(spec), {
        duckdb: [
          {
            sql: 'INSERT INTO "kv" ("k", "v", "n") VALUES (?, ?, ?) ON CONFLICT ("k") DO UPDATE SET "v" = excluded."v"',
            params: ['a', 'new', 2],
          },
        ],
      });
      await wh.storage.upsert(spec);
      assert.deepEqual(await rowsOf(), [{ k: 'a', v: 'new', n: 1, ts: t('1') }]);
    });

    test('upsert from a SELECT merges stored and incoming values, only where the condition holds', async () => {
      await kv([
        ['a', 'stored', 10, t('5')],
        ['b', 'stored', 10, t('1')],
      ]);
      const spec = {
        table: 'kv',
        columns: ['k', 'v', 'n', 'ts'],
        key: ['k'],
        from: {
          select: `SELECT k, v, n, ts FROM (VALUES ('a', 'late', 1, ?), ('b', 'newer', 2, ?), ('c', 'first', 3, ?)) AS x(k, v, n, ts)`,
          params: [t('2'), t('3'), t('4')],
        },
        update: (r: { current(c: string): string; incoming(c: string): string }) => ({
          v: r.incoming('v'),
          n: `${r.current('n')} + ${r.incoming('n')}`,
          ts: r.incoming('ts'),
        }),
        when: (r: { current(c: string): string; incoming(c: string): string }) =>
          `${r.incoming('ts')} > ${r.current('ts')}`,
      };
      expectSql(engine.name, wh.storage.render.upsert(spec), {
        duckdb: [
          {
            sql:
              `INSERT INTO "kv" ("k", "v", "n", "ts") ${spec.from.select} ON CONFLICT ("k") DO UPDATE SET ` +
              `"v" = excluded."v", "n" = "kv"."n" + excluded."n", "ts" = excluded."ts" WHERE excluded."ts" > "kv"."ts"`,
            params: [t('2'), t('3'), t('4')],
          },
        ],
      });
      await wh.storage.upsert(spec);
      assert.deepEqual(await rowsOf(), [
        { k: 'a', v: 'stored', n: 10, ts: t('5') },
        { k: 'b', v: 'newer', n: 12, ts: t('3') },
        { k: 'c', v: 'first', n: 3, ts: t('4') },
      ]);
    });

    test('upsertReturning hands back the stored values after the upsert (a counter)', async () => {
      await kv();
      const next = () =>
        wh.storage.upsertReturning<{ n: number }>(
          {
            table: 'kv',
            columns: ['k', 'n'],
            key: ['k'],
            from: { rows: [['batch', 1]] },
            update: (r) => ({ n: `${r.current('n')} + 1` }),
          },
          ['n'],
        );
      assert.deepEqual(await next(), [{ n: 1 }]);
      assert.deepEqual(await next(), [{ n: 2 }]);
      assert.deepEqual(await next(), [{ n: 3 }]);
    });

    test('upsert of many rows is split into statements of at most 1,000 rows, all stored', async () => {
      await kv();
      const rows = Array.from({ length: 2500 }, (_, i) => [`k${i}`, i]);
      const spec = { table: 'kv', columns: ['k', 'n'], key: ['k'], from: { rows } };
      assert.deepEqual(
        wh.storage.render.upsert(spec).map((s) => s.params.length / 2),
        [1000, 1000, 500],
      );
      assert.equal(await wh.storage.upsert(spec), 2500);
      assert.equal(await wh.storage.upsert(spec), 0);
      const [r] = await wh.query<{ n: number; total: number }>(
        'SELECT count(*) AS n, sum(n) AS total FROM kv',
      );
      assert.deepEqual(r, { n: 2500, total: (2499 * 2500) / 2 });
    });

    test('a scratch relation from a SELECT, or from columns and rows, replaces one of the same name', async () => {
      const fromSelect = { name: 'scratch_a', select: 'SELECT range AS i FROM range(?)', params: [3] };
      expectSql(engine.name, wh.storage.render.createScratch(fromSelect), {
        duckdb: [
          { sql: 'CREATE OR REPLACE TEMP TABLE "scratch_a" AS SELECT range AS i FROM range(?)', params: [3] },
        ],
      });
      const fromRows = {
        name: 'scratch_a',
        columns: [
          ['id', 'bigint'],
          ['label', 'text'],
        ] as const,
        rows: [
          [1, 'one'],
          [2, 'two'],
        ],
      };
      expectSql(engine.name, wh.storage.render.createScratch(fromRows), {
        duckdb: [
          { sql: 'CREATE OR REPLACE TEMP TABLE "scratch_a" ("id" BIGINT, "label" VARCHAR)', params: [] },
        ],
      });
      await wh.storage.createScratch(fromSelect);
      assert.deepEqual(await rowsOf('scratch_a'), [{ i: 0 }, { i: 1 }, { i: 2 }]);
      await wh.storage.createScratch(fromRows);
      assert.deepEqual(await rowsOf('scratch_a'), [
        { id: 1, label: 'one' },
        { id: 2, label: 'two' },
      ]);
      expectSql(engine.name, wh.storage.render.dropScratch('scratch_a'), {
        duckdb: [{ sql: 'DROP TABLE IF EXISTS temp."scratch_a"', params: [] }],
      });
      await wh.storage.dropScratch('scratch_a');
      await wh.storage.dropScratch('scratch_a');
      await assert.rejects(rowsOf('scratch_a'), /scratch_a/);
    });

    test('dropping a scratch relation never drops a stored table of the same name', async () => {
      await kv([['a', 'kept', 1, null]]);
      await wh.storage.dropScratch('kv');
      assert.deepEqual(await rowsOf(), [{ k: 'a', v: 'kept', n: 1, ts: null }]);
    });

    test('withScratch drops the relation after its work, and after a failure inside a transaction', async () => {
      const spec = { name: 'scratch_w', select: 'SELECT 42 AS answer' };
      const seen = await wh.storage.withScratch(spec, () => wh.query('SELECT answer FROM scratch_w'));
      assert.deepEqual(seen, [{ answer: 42 }]);
      await assert.rejects(rowsOf('scratch_w'), /scratch_w/);

      await assert.rejects(
        wh.transaction((tx) =>
          tx.storage.withScratch(spec, async () => {
            await tx.query('SELECT answer FROM scratch_w');
            await tx.run('SELECT no_such_column FROM scratch_w');
          }),
        ),
        /no_such_column/,
      );
      await assert.rejects(rowsOf('scratch_w'), /scratch_w/);
    });

    test('updateFrom a table updates the matching rows from it', async () => {
      await kv([
        ['a', 'x', 1, null],
        ['b', 'y', 2, null],
        ['c', 'x', 3, null],
      ]);
      await wh.storage.createScratch({
        name: 'remap',
        columns: [
          ['old_v', 'text'],
          ['new_v', 'text'],
        ],
        rows: [['x', 'z']],
      });
      const spec = { table: 'kv', from: { table: 'remap' }, match: { v: 'old_v' }, set: { v: 'new_v' } };
      expectSql(engine.name, wh.storage.render.updateFrom(spec), {
        duckdb: [
          {
            sql: 'UPDATE "kv" SET "v" = _src."new_v" FROM "remap" AS _src WHERE "kv"."v" = _src."old_v"',
            params: [],
          },
        ],
      });
      assert.equal(await wh.storage.updateFrom(spec), 2);
      assert.deepEqual(
        (await rowsOf()).map((r) => r.v),
        ['z', 'y', 'z'],
      );
      await wh.storage.dropScratch('remap');
    });

    test('updateFrom a SELECT with a condition on the target row', async () => {
      await kv([
        ['a', 'open', 1, null],
        ['b', 'open', 2, t('1')],
        ['c', 'open', 3, null],
      ]);
      const spec = {
        table: 'kv',
        from: {
          select: `SELECT k, CAST(? AS TIMESTAMP) AS ts FROM (VALUES ('a'), ('b')) AS x(k)`,
          params: [t('9')],
        },
        match: { k: 'k' },
        set: { ts: 'ts' },
        where: (target: (c: string) => string) => `${target('ts')} IS NULL`,
      };
      expectSql(engine.name, wh.storage.render.updateFrom(spec), {
        duckdb: [
          {
            sql: `UPDATE "kv" SET "ts" = _src."ts" FROM (${spec.from.select}) AS _src WHERE "kv"."k" = _src."k" AND "kv"."ts" IS NULL`,
            params: [t('9')],
          },
        ],
      });
      assert.equal(await wh.storage.updateFrom(spec), 1);
      assert.deepEqual(
        (await rowsOf()).map((r) => r.ts),
        [t('9'), t('1'), null],
      );
    });

    test('replaceSnapshot swaps the rows at one time for the SELECT and keeps other times', async () => {
      await kv([
        ['a', 'day1', 1, t('1')],
        ['b', 'day2', 1, t('2')],
        ['c', 'day2', 1, t('2')],
      ]);
      const spec = {
        table: 'kv',
        columns: ['k', 'v', 'n', 'ts'],
        at: { ts: t('2') },
        select: `SELECT 'd' AS k, 'day2 again' AS v, CAST(? AS BIGINT) AS n, CAST(? AS TIMESTAMP) AS ts`,
        params: [7, t('2')],
      };
      const { statements, inserting } = wh.storage.render.replaceSnapshot(spec);
      expectSql(engine.name, statements, {
        duckdb: [
          { sql: 'DELETE FROM "kv" WHERE "ts" = ?', params: [t('2')] },
          {
            sql: `INSERT INTO "kv" ("k", "v", "n", "ts") SELECT "k", "v", "n", "ts" FROM (${spec.select})`,
            params: [7, t('2')],
          },
        ],
      });
      assert.equal(inserting, 1);
      assert.equal(await wh.storage.replaceSnapshot(spec), 1);
      assert.deepEqual(
        (await rowsOf()).map((r) => [r.k, r.v]),
        [
          ['a', 'day1'],
          ['d', 'day2 again'],
        ],
      );
    });

    test('replaceSnapshot of a SELECT that reads the rows it replaces computes them all first', async () => {
      await kv([
        ['a', 'v', 1, t('2')],
        ['b', 'v', 2, t('2')],
      ]);
      const spec = {
        table: 'kv',
        columns: ['k', 'v', 'n', 'ts'],
        at: { ts: t('2') },
        select: 'SELECT k, v, n * 10 AS n, ts FROM kv WHERE ts = ?',
        params: [t('2')],
        readsOwnRows: true,
      };
      const { statements, inserting } = wh.storage.render.replaceSnapshot(spec);
      expectSql(engine.name, statements, {
        duckdb: [
          {
            sql: `CREATE OR REPLACE TEMP TABLE "_sf_next_kv" AS SELECT "k", "v", "n", "ts" FROM (${spec.select})`,
            params: [t('2')],
          },
          { sql: 'DELETE FROM "kv" WHERE "ts" = ?', params: [t('2')] },
          {
            sql: 'INSERT INTO "kv" ("k", "v", "n", "ts") SELECT "k", "v", "n", "ts" FROM temp."_sf_next_kv"',
            params: [],
          },
          { sql: 'DROP TABLE IF EXISTS temp."_sf_next_kv"', params: [] },
        ],
      });
      assert.equal(inserting, 2);
      assert.equal(await wh.storage.replaceSnapshot(spec), 2);
      assert.deepEqual(
        (await rowsOf()).map((r) => r.n),
        [10, 20],
      );
      await assert.rejects(rowsOf('_sf_next_kv'), /_sf_next_kv/);
    });
  });
}
