import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { openClickHouse } from '../../src/engine/clickhouse/open-clickhouse.js';
import type { TableDef } from '../../src/engine/dialect.js';
import { openDuckDB } from '../../src/engine/duckdb/duckdb-warehouse.js';
import type { Statement } from '../../src/engine/ports.js';
import * as schema from '../../src/engine/schema.js';
import { IDENTITY_ACTIVITY, IDENTITY_EMAILS, KEYED_BY_MERGE } from '../../src/engine/schema.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { startClickHouseHttpEndpoint } from '../helpers/clickhouse-http-endpoint.js';
import { openChdbForTest } from '../helpers/engines.js';
import { tempDir } from '../helpers/temp.js';

/**
 * The statement-level ports, tested the way kysely tests its dialects: for every engine, the SQL each port renders
 * (so a change of rendering is a visible decision) and the rows it leaves after running on a real database.
 * Adding an engine is one line in ENGINES; TypeScript then asks for its SQL in every `expectSql`.
 */
/** The ClickHouse adapter driven by the official client through the test endpoint (chdb behind HTTP). */
async function openOverHttp(): Promise<Warehouse> {
  const endpoint = await startClickHouseHttpEndpoint({ password: 'test-password' });
  const wh = await openClickHouse({ url: endpoint.url, database: 'segflow', password: 'test-password' });
  const close = wh.close.bind(wh);
  return Object.assign(wh, {
    async close() {
      await close();
      await endpoint.close();
    },
  });
}

const ENGINES = [
  {
    name: 'duckdb',
    sql: 'duckdb',
    open: () => openDuckDB({ path: ':memory:' }),
    /** Literal rows as a relation with named columns. */
    rows: (columns: string[], rows: string[][]) =>
      `(VALUES ${rows.map((r) => `(${r.join(', ')})`).join(', ')}) AS x(${columns.join(', ')})`,
    numbers: 'SELECT range AS i FROM range(?)',
    bigint: 'BIGINT',
    timestamp: (placeholder: string) => `CAST(${placeholder} AS TIMESTAMP)`,
  },
  {
    name: 'clickhouse',
    sql: 'clickhouse',
    open: openChdbForTest,
    rows: (columns: string[], rows: string[][]) =>
      `(${rows.map((r) => `SELECT ${r.map((v, i) => `${v} AS ${columns[i]}`).join(', ')}`).join(' UNION ALL ')}) AS x`,
    numbers: 'SELECT number AS i FROM numbers(?)',
    bigint: 'Int64',
    // A bound Date is already a DateTime64 literal.
    timestamp: (placeholder: string) => placeholder,
  },
  {
    name: 'clickhouse over HTTP (@clickhouse/client)',
    sql: 'clickhouse',
    open: openOverHttp,
    rows: (columns: string[], rows: string[][]) =>
      `(${rows.map((r) => `SELECT ${r.map((v, i) => `${v} AS ${columns[i]}`).join(', ')}`).join(' UNION ALL ')}) AS x`,
    numbers: 'SELECT number AS i FROM numbers(?)',
    bigint: 'Int64',
    timestamp: (placeholder: string) => placeholder,
  },
] as const;

type EngineName = (typeof ENGINES)[number]['sql'];

function expectSql(
  engine: EngineName,
  rendered: Statement[],
  expected: Record<EngineName, Statement[]>,
): void {
  assert.deepEqual(
    rendered.map((s) => ({ ...s, sql: s.sql.replace(/\s+/g, ' ') })),
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

test('the upsert renders a MERGE for exactly the tables whose key has no unique index', () => {
  const defs = Object.values(schema).filter(
    (v): v is TableDef => typeof v === 'object' && v !== null && 'columns' in v && 'name' in v,
  );
  const unindexed = defs.filter((d) => d.keyIndexed === false).map((d) => d.name);
  assert.deepEqual([...KEYED_BY_MERGE].sort(), unindexed.sort());
  assert.ok(unindexed.includes('identities'));
});

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
      expectSql(engine.sql, wh.storage.render.upsert(spec), {
        duckdb: [
          {
            sql: 'INSERT INTO "kv" ("k", "v") VALUES (?, ?), (?, ?) ON CONFLICT ("k") DO NOTHING',
            params: ['a', 'new', 'b', 'new'],
          },
        ],
        clickhouse: [
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "_sf_upsert_in"', params: [] },
          {
            sql: 'CREATE TEMPORARY TABLE "_sf_upsert_in" ENGINE = Memory AS SELECT "k", "v" FROM "kv" WHERE 0',
            params: [],
          },
          {
            sql: 'INSERT INTO "_sf_upsert_in" ("k", "v") VALUES (?, ?), (?, ?)',
            params: ['a', 'new', 'b', 'new'],
          },
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "_sf_upsert_added"', params: [] },
          {
            sql: 'CREATE TEMPORARY TABLE "_sf_upsert_added" ENGINE = Memory AS SELECT "k", "v" FROM "_sf_upsert_in" WHERE ("k") NOT IN (SELECT "k" FROM "kv")',
            params: [],
          },
          { sql: 'SELECT count() FROM "_sf_upsert_added"', params: [], role: 'count' },
          { sql: 'INSERT INTO "kv" ("k", "v") SELECT "k", "v" FROM "_sf_upsert_added"', params: [] },
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "_sf_upsert_in"', params: [] },
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "_sf_upsert_changed"', params: [] },
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "_sf_upsert_added"', params: [] },
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
      expectSql(engine.sql, wh.storage.render.upsert(spec), {
        duckdb: [
          {
            sql: 'INSERT INTO "kv" ("k", "v", "n") VALUES (?, ?, ?) ON CONFLICT ("k") DO UPDATE SET "v" = excluded."v"',
            params: ['a', 'new', 2],
          },
        ],
        clickhouse: [
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "_sf_upsert_in"', params: [] },
          {
            sql: 'CREATE TEMPORARY TABLE "_sf_upsert_in" ENGINE = Memory AS SELECT "k", "v", "n" FROM "kv" WHERE 0',
            params: [],
          },
          { sql: 'INSERT INTO "_sf_upsert_in" ("k", "v", "n") VALUES (?, ?, ?)', params: ['a', 'new', 2] },
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "_sf_upsert_changed"', params: [] },
          {
            sql: 'CREATE TEMPORARY TABLE "_sf_upsert_changed" ENGINE = Memory AS SELECT _cur.* REPLACE (_inc."v" AS "v") FROM "kv" AS _cur INNER JOIN "_sf_upsert_in" AS _inc ON _cur."k" = _inc."k"',
            params: [],
          },
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "_sf_upsert_added"', params: [] },
          {
            sql: 'CREATE TEMPORARY TABLE "_sf_upsert_added" ENGINE = Memory AS SELECT "k", "v", "n" FROM "_sf_upsert_in" WHERE ("k") NOT IN (SELECT "k" FROM "kv")',
            params: [],
          },
          {
            sql: 'SELECT (SELECT count() FROM "_sf_upsert_changed") + (SELECT count() FROM "_sf_upsert_added")',
            params: [],
            role: 'count',
          },
          { sql: 'INSERT INTO "kv" SELECT * FROM "_sf_upsert_changed"', params: [] },
          {
            sql: 'INSERT INTO "kv" ("k", "v", "n") SELECT "k", "v", "n" FROM "_sf_upsert_added"',
            params: [],
          },
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "_sf_upsert_in"', params: [] },
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "_sf_upsert_changed"', params: [] },
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "_sf_upsert_added"', params: [] },
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
          select: `SELECT k, v, n, ts FROM ${engine.rows(
            ['k', 'v', 'n', 'ts'],
            [
              ["'a'", "'late'", '1', '?'],
              ["'b'", "'newer'", '2', '?'],
              ["'c'", "'first'", '3', '?'],
            ],
          )}`,
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
      expectSql(engine.sql, wh.storage.render.upsert(spec), {
        duckdb: [
          {
            sql:
              `INSERT INTO "kv" ("k", "v", "n", "ts") ${spec.from.select} ON CONFLICT ("k") DO UPDATE SET ` +
              `"v" = excluded."v", "n" = "kv"."n" + excluded."n", "ts" = excluded."ts" WHERE excluded."ts" > "kv"."ts"`,
            params: [t('2'), t('3'), t('4')],
          },
        ],
        clickhouse: [
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "_sf_upsert_in"', params: [] },
          {
            sql: 'CREATE TEMPORARY TABLE "_sf_upsert_in" ENGINE = Memory AS SELECT "k", "v", "n", "ts" FROM "kv" WHERE 0',
            params: [],
          },
          {
            sql: `INSERT INTO "_sf_upsert_in" ("k", "v", "n", "ts") ${spec.from.select}`,
            params: [t('2'), t('3'), t('4')],
          },
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "_sf_upsert_changed"', params: [] },
          {
            sql: 'CREATE TEMPORARY TABLE "_sf_upsert_changed" ENGINE = Memory AS SELECT _cur.* REPLACE (_inc."v" AS "v", _cur."n" + _inc."n" AS "n", _inc."ts" AS "ts") FROM "kv" AS _cur INNER JOIN "_sf_upsert_in" AS _inc ON _cur."k" = _inc."k" WHERE _inc."ts" > _cur."ts"',
            params: [],
          },
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "_sf_upsert_added"', params: [] },
          {
            sql: 'CREATE TEMPORARY TABLE "_sf_upsert_added" ENGINE = Memory AS SELECT "k", "v", "n", "ts" FROM "_sf_upsert_in" WHERE ("k") NOT IN (SELECT "k" FROM "kv")',
            params: [],
          },
          {
            sql: 'SELECT (SELECT count() FROM "_sf_upsert_changed") + (SELECT count() FROM "_sf_upsert_added")',
            params: [],
            role: 'count',
          },
          { sql: 'INSERT INTO "kv" SELECT * FROM "_sf_upsert_changed"', params: [] },
          {
            sql: 'INSERT INTO "kv" ("k", "v", "n", "ts") SELECT "k", "v", "n", "ts" FROM "_sf_upsert_added"',
            params: [],
          },
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "_sf_upsert_in"', params: [] },
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "_sf_upsert_changed"', params: [] },
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "_sf_upsert_added"', params: [] },
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
        wh.storage.render
          .upsert(spec)
          .filter((s) => s.params.length > 0)
          .map((s) => s.params.length / 2),
        [1000, 1000, 500],
      );
      assert.equal(await wh.storage.upsert(spec), 2500);
      assert.equal(await wh.storage.upsert(spec), 0);
      const [r] = await wh.query<{ n: number; total: number }>(
        'SELECT count(*) AS n, sum(n) AS total FROM kv',
      );
      assert.deepEqual(r, { n: 2500, total: (2499 * 2500) / 2 });
    });

    test('upsert into a table whose key has no unique index (the identity tables) keeps one row per key', async () => {
      // DuckDB keeps these keys with a MERGE (schema.ts, TableDef.keyIndexed); ClickHouse's tables are replacing ones.
      await wh.run('DROP TABLE IF EXISTS identity_activity');
      await wh.run(wh.dialect.createTable(IDENTITY_ACTIVITY));
      await wh.append(
        'identity_activity',
        ['identifier', 'first_seen', 'last_seen', 'events'],
        [
          ['a', t('2'), t('3'), 1],
          ['b', t('2'), t('8'), 5],
        ],
      );
      const spec = {
        table: 'identity_activity',
        columns: ['identifier', 'first_seen', 'last_seen', 'events'],
        key: ['identifier'],
        from: {
          select: `SELECT k, f, l, n FROM ${engine.rows(
            ['k', 'f', 'l', 'n'],
            [
              ["'a'", engine.timestamp('?'), engine.timestamp('?'), '2'],
              ["'b'", engine.timestamp('?'), engine.timestamp('?'), '7'],
              ["'c'", engine.timestamp('?'), engine.timestamp('?'), '3'],
            ],
          )}`,
          params: [t('1'), t('4'), t('3'), t('4'), t('5'), t('6')],
        },
        update: (r: { current(c: string): string; incoming(c: string): string }) => ({
          first_seen: `least(${r.current('first_seen')}, ${r.incoming('first_seen')})`,
          last_seen: `greatest(${r.current('last_seen')}, ${r.incoming('last_seen')})`,
          events: `${r.current('events')} + ${r.incoming('events')}`,
        }),
        // b's stored activity ends later than the incoming: kept as it is
        when: (r: { current(c: string): string; incoming(c: string): string }) =>
          `${r.incoming('last_seen')} > ${r.current('last_seen')}`,
      };
      if (engine.sql === 'duckdb') {
        assert.deepEqual(
          wh.storage.render.upsert(spec).map((s) => s.sql.replace(/\s+/g, ' ')),
          [
            `MERGE INTO "identity_activity" USING (SELECT * FROM (${spec.from.select}) AS _in("identifier", "first_seen", "last_seen", "events")) AS _in ` +
              'ON "identity_activity"."identifier" = _in."identifier" ' +
              'WHEN MATCHED AND _in."last_seen" > "identity_activity"."last_seen" THEN UPDATE SET ' +
              '"first_seen" = least("identity_activity"."first_seen", _in."first_seen"), ' +
              '"last_seen" = greatest("identity_activity"."last_seen", _in."last_seen"), ' +
              '"events" = "identity_activity"."events" + _in."events" ' +
              'WHEN NOT MATCHED THEN INSERT ("identifier", "first_seen", "last_seen", "events") ' +
              'VALUES (_in."identifier", _in."first_seen", _in."last_seen", _in."events")',
          ],
        );
      }
      assert.equal(await wh.storage.upsert(spec), 2);
      assert.deepEqual(await rowsOf('identity_activity'), [
        { identifier: 'a', first_seen: t('1'), last_seen: t('4'), events: 3 },
        { identifier: 'b', first_seen: t('2'), last_seen: t('8'), events: 5 },
        { identifier: 'c', first_seen: t('5'), last_seen: t('6'), events: 3 },
      ]);

      // Without an update, a stored key is kept and a key repeated among the incoming rows is stored once.
      await wh.run('DROP TABLE IF EXISTS identity_emails');
      await wh.run(wh.dialect.createTable(IDENTITY_EMAILS));
      await wh.append('identity_emails', ['email', 'identifier'], [['a@x.io', 'a']]);
      const emails = {
        table: 'identity_emails',
        columns: ['email', 'identifier'],
        key: ['email', 'identifier'],
        from: {
          rows: [
            ['a@x.io', 'a'],
            ['b@x.io', 'b'],
            ['b@x.io', 'b'],
            ['b@x.io', 'c'],
          ],
        },
      };
      await wh.storage.upsert(emails); // (ClickHouse counts a repeated incoming row once per repeat)
      assert.equal(await wh.storage.upsert(emails), 0);
      assert.deepEqual(await wh.query('SELECT email, identifier FROM identity_emails ORDER BY 1, 2'), [
        { email: 'a@x.io', identifier: 'a' },
        { email: 'b@x.io', identifier: 'b' },
        { email: 'b@x.io', identifier: 'c' },
      ]);
    });

    test('a scratch relation from a SELECT, or from columns and rows, replaces one of the same name', async () => {
      const fromSelect = { name: 'scratch_a', select: engine.numbers, params: [3] };
      expectSql(engine.sql, wh.storage.render.createScratch(fromSelect), {
        duckdb: [
          { sql: 'CREATE OR REPLACE TEMP TABLE "scratch_a" AS SELECT range AS i FROM range(?)', params: [3] },
        ],
        clickhouse: [
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "scratch_a"', params: [] },
          {
            sql: 'CREATE TEMPORARY TABLE "scratch_a" ENGINE = Memory AS SELECT number AS i FROM numbers(?)',
            params: [3],
          },
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
      expectSql(engine.sql, wh.storage.render.createScratch(fromRows), {
        duckdb: [
          { sql: 'CREATE OR REPLACE TEMP TABLE "scratch_a" ("id" BIGINT, "label" VARCHAR)', params: [] },
        ],
        clickhouse: [
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "scratch_a"', params: [] },
          {
            sql: 'CREATE TEMPORARY TABLE "scratch_a" ("id" Nullable(Int64), "label" Nullable(String)) ENGINE = Memory',
            params: [],
          },
        ],
      });
      await wh.storage.createScratch(fromSelect);
      assert.deepEqual(await rowsOf('scratch_a'), [{ i: 0 }, { i: 1 }, { i: 2 }]);
      await wh.storage.createScratch(fromRows);
      assert.deepEqual(await rowsOf('scratch_a'), [
        { id: 1, label: 'one' },
        { id: 2, label: 'two' },
      ]);
      expectSql(engine.sql, wh.storage.render.dropScratch('scratch_a'), {
        duckdb: [{ sql: 'DROP TABLE IF EXISTS temp."scratch_a"', params: [] }],
        clickhouse: [{ sql: 'DROP TEMPORARY TABLE IF EXISTS "scratch_a"', params: [] }],
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

    test("exclusive runs its statements back to back: another caller's statement waits for the end", async () => {
      await kv();
      // Each insert records how many rows it found: the order in which the statements ran.
      const put = (db: Warehouse, k: string) =>
        db.run(`INSERT INTO kv (k, n) SELECT '${k}', count(*) FROM kv`);
      const tick = () => new Promise((r) => setTimeout(r, 20));
      let other: Promise<number> | undefined;
      const inside = wh.exclusive(async (db) => {
        await put(db, 'a');
        other = put(wh, 'c'); // another caller, while the first statement's caller still holds the warehouse
        await tick();
        await put(db, 'b');
        await db.transaction(async (tx) => put(tx, 'd')); // a transaction inside commits as usual
      });
      await inside;
      await other;
      const rows = await wh.query<{ k: string; n: number }>('SELECT k, n FROM kv ORDER BY n');
      assert.deepEqual(
        rows.map((r) => `${r.k}${Number(r.n)}`),
        ['a0', 'b1', 'd2', 'c3'],
      );
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
      expectSql(engine.sql, wh.storage.render.updateFrom(spec), {
        duckdb: [
          {
            sql: 'UPDATE "kv" SET "v" = _src."new_v" FROM "remap" AS _src WHERE "kv"."v" = _src."old_v"',
            params: [],
          },
        ],
        clickhouse: [
          { sql: 'DROP TABLE IF EXISTS "segflow"."_sf_update_kv"', params: [] },
          {
            sql: 'CREATE TABLE "segflow"."_sf_update_kv" ENGINE = Join(ANY, LEFT, "old_v") AS SELECT "old_v" AS "old_v", "new_v" FROM "remap" AS _src',
            params: [],
          },
          {
            sql: 'SELECT count() FROM "kv" WHERE "v" IN (SELECT "old_v" FROM "segflow"."_sf_update_kv")',
            params: [],
            role: 'count',
          },
          {
            sql: 'ALTER TABLE "kv" UPDATE "v" = joinGet(\'segflow._sf_update_kv\', \'new_v\', "v") WHERE "v" IN (SELECT "old_v" FROM "segflow"."_sf_update_kv")',
            params: [],
          },
          { sql: 'DROP TABLE IF EXISTS "segflow"."_sf_update_kv"', params: [] },
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
          select: `SELECT k, ${engine.timestamp('?')} AS ts FROM ${engine.rows(['k'], [["'a'"], ["'b'"]])}`,
          params: [t('9')],
        },
        match: { k: 'k' },
        set: { ts: 'ts' },
        where: (target: (c: string) => string) => `${target('ts')} IS NULL`,
      };
      expectSql(engine.sql, wh.storage.render.updateFrom(spec), {
        duckdb: [
          {
            sql: `UPDATE "kv" SET "ts" = _src."ts" FROM (${spec.from.select}) AS _src WHERE "kv"."k" = _src."k" AND "kv"."ts" IS NULL`,
            params: [t('9')],
          },
        ],
        clickhouse: [
          { sql: 'DROP TABLE IF EXISTS "segflow"."_sf_update_kv"', params: [] },
          {
            sql: 'CREATE TABLE "segflow"."_sf_update_kv" ENGINE = Join(ANY, LEFT, "k") AS SELECT "k" AS "k", "ts" FROM (SELECT k, ? AS ts FROM (SELECT \'a\' AS k UNION ALL SELECT \'b\' AS k) AS x) AS _src',
            params: [t('9')],
          },
          {
            sql: 'SELECT count() FROM "kv" WHERE "k" IN (SELECT "k" FROM "segflow"."_sf_update_kv") AND "ts" IS NULL',
            params: [],
            role: 'count',
          },
          {
            sql: 'ALTER TABLE "kv" UPDATE "ts" = joinGet(\'segflow._sf_update_kv\', \'ts\', "k") WHERE "k" IN (SELECT "k" FROM "segflow"."_sf_update_kv") AND "ts" IS NULL',
            params: [],
          },
          { sql: 'DROP TABLE IF EXISTS "segflow"."_sf_update_kv"', params: [] },
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
        select: `SELECT 'd' AS k, 'day2 again' AS v, CAST(? AS ${engine.bigint}) AS n, ${engine.timestamp('?')} AS ts`,
        params: [7, t('2')],
      };
      const { statements, inserting } = wh.storage.render.replaceSnapshot(spec);
      expectSql(engine.sql, statements, {
        duckdb: [
          { sql: 'DELETE FROM "kv" WHERE "ts" = ?', params: [t('2')] },
          {
            sql: `INSERT INTO "kv" ("k", "v", "n", "ts") SELECT "k", "v", "n", "ts" FROM (${spec.select})`,
            params: [7, t('2')],
          },
        ],
        clickhouse: [
          { sql: 'DELETE FROM "kv" WHERE "ts" = ?', params: [t('2')] },
          {
            sql: 'INSERT INTO "kv" ("k", "v", "n", "ts") SELECT "k", "v", "n", "ts" FROM (SELECT \'d\' AS k, \'day2 again\' AS v, CAST(? AS Int64) AS n, ? AS ts)',
            params: [7, t('2')],
          },
          { sql: 'SELECT count() FROM "kv" WHERE "ts" = ?', params: [t('2')], role: 'count' },
        ],
      });
      assert.equal(inserting, { duckdb: 1, clickhouse: 2 }[engine.sql]);
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
      expectSql(engine.sql, statements, {
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
        clickhouse: [
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "_sf_next_kv"', params: [] },
          {
            sql: 'CREATE TEMPORARY TABLE "_sf_next_kv" ENGINE = Memory AS SELECT "k", "v", "n", "ts" FROM (SELECT k, v, n * 10 AS n, ts FROM kv WHERE ts = ?)',
            params: [t('2')],
          },
          { sql: 'DELETE FROM "kv" WHERE "ts" = ?', params: [t('2')] },
          {
            sql: 'INSERT INTO "kv" ("k", "v", "n", "ts") SELECT "k", "v", "n", "ts" FROM "_sf_next_kv"',
            params: [],
          },
          { sql: 'SELECT count() FROM "kv" WHERE "ts" = ?', params: [t('2')], role: 'count' },
          { sql: 'DROP TEMPORARY TABLE IF EXISTS "_sf_next_kv"', params: [] },
        ],
      });
      assert.equal(inserting, { duckdb: 2, clickhouse: 4 }[engine.sql]);
      assert.equal(await wh.storage.replaceSnapshot(spec), 2);
      assert.deepEqual(
        (await rowsOf()).map((r) => r.n),
        [10, 20],
      );
      await assert.rejects(rowsOf('_sf_next_kv'), /_sf_next_kv/);
    });

    /** A file on this machine as a relation: read where it lies, or sent to a server first (over HTTP). */
    test('stageFile: NDJSON, CSV (also gzipped) and Parquet rows in file order, numbered', async () => {
      const dir = tempDir();
      const people = Array.from({ length: 30 }, (_, i) => ({
        name: `p${i}`,
        city: i % 3 ? 'Oslo' : 'Rome, IT',
      }));
      const ndjson = join(dir, 'people.ndjson');
      writeFileSync(ndjson, `${people.map((p) => JSON.stringify(p)).join('\n')}\nnot json\n`);
      const csvText = `name,city\n${people.map((p) => `${p.name},"${p.city}"`).join('\n')}\n`;
      const csv = join(dir, 'people.csv');
      writeFileSync(csv, csvText);
      writeFileSync(join(dir, 'people.csv.gz'), gzipSync(csvText));
      const parquet = join(dir, 'people.parquet');
      const duck = await openDuckDB({ path: ':memory:' });
      await duck
        .exportToFile(`SELECT * FROM ${duck.dialect.readCsv('?', { header: true })}`, [csv], {
          path: parquet,
          format: 'parquet',
        })
        .finally(() => duck.close());

      const read = async (
        path: string,
        format: Parameters<Warehouse['storage']['stageFile']>[0]['format'],
      ) => {
        const file = await wh.storage.stageFile({ name: '_sf_file', path, format, firstRowNo: 2 });
        const rows = await wh.query(
          `SELECT row_no, name, city FROM ${file.relation} ORDER BY row_no`,
          file.params,
        );
        await wh.storage.dropScratch('_sf_file');
        return rows;
      };
      const expected = people.map((p, i) => ({ row_no: i + 2, name: p.name, city: p.city }));
      const asJson = (rows: Record<string, unknown>[]) =>
        rows.map((r) => ({ ...r, name: JSON.stringify(r.name), city: JSON.stringify(r.city) }));
      const columns = { name: 'json', city: 'json' } as const;
      assert.deepEqual(await read(ndjson, { kind: 'ndjson', columns }), [
        ...asJson(expected),
        { row_no: 32, name: null, city: null },
      ]);
      assert.deepEqual(await read(csv, { kind: 'csv', header: true }), expected);
      assert.deepEqual(await read(join(dir, 'people.csv.gz'), { kind: 'csv', header: true }), expected);
      assert.deepEqual(await read(parquet, { kind: 'parquet' }), expected);
      const semicolons = join(dir, 'people-semicolons.csv');
      writeFileSync(semicolons, csvText.replaceAll(',"', ';"').replace('name,city', 'name;city'));
      assert.deepEqual(await read(semicolons, { kind: 'csv', header: true, delimiter: ';' }), expected);
    });

    // Numbers must follow the file even when the engine reads it on several threads (DuckDB: 122,880 rows a group).
    test('stageFile: each row of a file of many row groups is numbered by its line', async () => {
      const lines = 300_000;
      const ndjson = join(tempDir(), 'numbered.ndjson');
      writeFileSync(
        ndjson,
        `${Array.from({ length: lines }, (_, i) => `{"line":${i + 1},"pad":"${'x'.repeat(i % 40)}"}`).join('\n')}\n`,
      );
      // In a transaction, as an import stages its file (DuckDB numbers a transaction's new rows from a high base).
      const [r] = await wh.transaction(async (tx) => {
        const file = await tx.storage.stageFile({
          name: '_sf_file',
          path: ndjson,
          format: { kind: 'ndjson', columns: { line: 'json' } },
        });
        const rows = await tx.query<{ n: number; misplaced: number }>(
          `SELECT count(*) AS n, ${wh.dialect.aggregateIf('count(*)', `row_no <> CAST(CAST(line AS ${wh.dialect.columnType('text')}) AS ${wh.dialect.columnType('bigint')})`)} AS misplaced FROM ${file.relation}`,
          file.params,
        );
        await tx.storage.dropScratch('_sf_file');
        return rows;
      });
      assert.deepEqual([Number(r!.n), Number(r!.misplaced)], [lines, 0]);
    });
  });
}
