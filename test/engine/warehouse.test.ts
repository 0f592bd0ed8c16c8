import assert from 'node:assert/strict';
import { existsSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openDuckDB } from '../../src/engine/duckdb/duckdb-warehouse.js';
import { migrate, schemaVersion } from '../../src/engine/migrate.js';
import { isSmallDatabaseFile, openWarehouse } from '../../src/engine/open.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../src/engine/schema.js';
import { SegflowError } from '../../src/errors.js';
import { tempDir } from '../helpers/temp.js';

describe('DuckDB warehouse', () => {
  test('binds values as parameters: text that looks like SQL stays data', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    await wh.run('CREATE TABLE t (name VARCHAR, n BIGINT, happened TIMESTAMP)');
    const hostile = "x'); DROP TABLE t; --";
    await wh.run('INSERT INTO t VALUES (?, ?, ?)', [hostile, 42, new Date('2026-03-01T12:34:56.789Z')]);
    const rows = await wh.query<{ name: string; n: number; happened: Date }>('SELECT * FROM t');
    assert.deepEqual(rows, [{ name: hostile, n: 42, happened: new Date('2026-03-01T12:34:56.789Z') }]);
    await wh.close();
  });

  test('binds huge whole-valued floats as doubles: a diverged fit figure is stored, not refused as out of int64', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    await wh.run('CREATE TABLE fits (ll DOUBLE, people BIGINT)');
    for (const ll of [-3.3e58, 7340032, 2 ** 63, -1.5])
      await wh.run('INSERT INTO fits VALUES (?, ?)', [ll, 12]);
    const rows = await wh.query<{ ll: number; people: number }>('SELECT ll, people FROM fits ORDER BY rowid');
    assert.deepEqual(rows, [
      { ll: -3.3e58, people: 12 },
      { ll: 7340032, people: 12 },
      { ll: 2 ** 63, people: 12 },
      { ll: -1.5, people: 12 },
    ]);
    const [streamed] = await wh.query<{ v: number }>('SELECT ? * 2 AS v', [1e300]);
    assert.equal(streamed!.v, 2e300);
    let seen = 0;
    for await (const batch of wh.stream<{ ll: number }>('SELECT ll FROM fits WHERE ll < ?', [1e10]))
      seen += batch.length;
    assert.equal(seen, 3);
    await wh.close();
  });

  test('queryColumns: numbers column by column, NULL as NaN, across chunks; other types refused', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    // 5,000 rows span several of DuckDB's 2,048-row chunks; every 7th d is NULL. Integers of every width come as numbers.
    const sql = `SELECT CAST(i AS DOUBLE) / 4 AS d_all, CASE WHEN i % 7 = 0 THEN NULL ELSE CAST(i AS DOUBLE) / 2 END AS d,
        CAST(i AS INTEGER) AS int, i AS big, CAST(i AS HUGEINT) * 3 AS huge, i % 2 = 0 AS even, i * 0.5 AS dec
      FROM range(5000) t(i) WHERE i >= ? ORDER BY i`;
    const { rows, columns } = await wh.queryColumns(sql, [0]);
    assert.equal(rows, 5000);
    assert.deepEqual(Object.keys(columns), ['d_all', 'd', 'int', 'big', 'huge', 'even', 'dec']);
    const asRows = await wh.query<Record<string, number | boolean | null>>(sql, [0]);
    for (const name of Object.keys(columns)) {
      const column = columns[name]!;
      assert.ok(column instanceof Float64Array && column.length === 5000, name);
      const expected = asRows.map((r) => (r[name] === null ? Number.NaN : Number(r[name])));
      assert.deepEqual(Array.from(column), expected, name);
    }
    assert.ok(Number.isNaN(columns.d![4907]!) && columns.d![4908] === 2454, 'NULLs stay where they are');

    const none = await wh.queryColumns('SELECT CAST(1 AS DOUBLE) AS a, 2 AS b WHERE false');
    assert.deepEqual(none, { rows: 0, columns: { a: new Float64Array(0), b: new Float64Array(0) } });
    await assert.rejects(wh.queryColumns("SELECT 1.5 AS a, 'x' AS name"), {
      code: 'SQL_FAILED',
      message: /column name is not a number/,
    });
    await wh.close();
  });

  test('streams a large result in batches without materialising it', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    let total = 0;
    let batches = 0;
    let sum = 0;
    for await (const batch of wh.stream<{ i: number }>('SELECT range AS i FROM range(250000)', [], {
      batchRows: 50000,
    })) {
      batches++;
      total += batch.length;
      for (const r of batch) sum += r.i;
    }
    assert.equal(total, 250000);
    assert.ok(batches >= 5, `expected several batches, got ${batches}`);
    assert.equal(sum, (249999 * 250000) / 2);
    await wh.close();
  });

  test('bulk append checks the column order and writes every row', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    await wh.run('CREATE TABLE a (id BIGINT, label VARCHAR, ok BOOLEAN)');
    const n = await wh.append(
      'a',
      ['id', 'label', 'ok'],
      (function* () {
        for (let i = 0; i < 10000; i++) yield [i, `row ${i}`, i % 2 === 0];
      })(),
    );
    assert.equal(n, 10000);
    assert.deepEqual(
      await wh.query('SELECT count(*) AS n, sum(id) AS s, count(*) FILTER (WHERE ok) AS evens FROM a'),
      [{ n: 10000, s: 49995000, evens: 5000 }],
    );
    await assert.rejects(wh.append('a', ['label', 'id', 'ok'], [['x', 1, true]]), /do not match/);
    await wh.close();
  });

  test('a failed transaction leaves nothing behind', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    await wh.run('CREATE TABLE t (x INTEGER)');
    await assert.rejects(
      wh.transaction(async (tx) => {
        await tx.run('INSERT INTO t VALUES (1)');
        await tx.run('INSERT INTO missing_table VALUES (1)');
      }),
      (e: unknown) => e instanceof SegflowError && e.code === 'SQL_FAILED',
    );
    assert.deepEqual(await wh.query('SELECT count(*) AS n FROM t'), [{ n: 0 }]);
    await wh.close();
  });

  test('read-only queries refuse anything that writes, and more than one statement', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    const ok = await wh.readOnlyQuery('WITH x AS (SELECT 1 AS a) SELECT a FROM x');
    assert.deepEqual(ok, { columns: ['a'], rows: [{ a: 1 }] });
    for (const sql of [
      "INSERT INTO events (message_id) VALUES ('x')",
      'DELETE FROM events',
      'DROP TABLE events',
      "COPY events TO '/tmp/segflow-leak.csv'",
      'SELECT 1; DROP TABLE events',
      "ATTACH '/tmp/other.duckdb'",
      'SET threads = 1',
    ]) {
      await assert.rejects(
        wh.readOnlyQuery(sql),
        (e: unknown) => e instanceof SegflowError && e.code === 'SQL_NOT_READ_ONLY',
        sql,
      );
    }
    assert.deepEqual(await wh.query('SELECT count(*) AS n FROM events'), [{ n: 0 }]);
    await wh.close();
  });
});

describe('threads', () => {
  test('a small database file is run on one thread when asked; a large one, :memory: and none are not small', async () => {
    const dir = tempDir();
    const path = join(dir, 's.duckdb');
    await (await openWarehouse({ path })).close();
    assert.equal(isSmallDatabaseFile(path), true);
    const wh = await openWarehouse({ path, threads: 1 });
    assert.deepEqual(await wh.query(`SELECT current_setting('threads')::INTEGER AS n`), [{ n: 1 }]);
    await wh.close();
    const large = join(dir, 'large.duckdb');
    writeFileSync(large, '');
    truncateSync(large, 17 << 20);
    assert.equal(isSmallDatabaseFile(large), false);
    assert.equal(isSmallDatabaseFile(':memory:'), false);
    assert.equal(isSmallDatabaseFile(join(dir, 'none.duckdb')), false);
  });
});

describe('closing without a checkpoint (checkpointOnClose: false)', () => {
  test('a small write stays in the write-ahead log, and the next open reads it', async () => {
    const path = join(tempDir(), 'w.duckdb');
    const created = await openWarehouse({ path });
    await created.close(); // migrations checkpointed: no log left
    assert.equal(existsSync(`${path}.wal`), false);
    const wh = await openWarehouse({ path, checkpointOnClose: false });
    await wh.run(`INSERT INTO segflow_meta VALUES ('test:small', 'kept')`);
    await wh.close();
    assert.ok(statSync(`${path}.wal`).size > 0, 'the write is in the log, not yet in the file');
    const again = await openWarehouse({ path, readOnly: true });
    const rows = await again.query<{ value: string }>(
      `SELECT value FROM segflow_meta WHERE key = 'test:small'`,
    );
    assert.deepEqual(rows, [{ value: 'kept' }]);
    await again.close();
  });

  test('a log above 64 kB is checkpointed at close all the same (every later open would replay it)', async () => {
    const path = join(tempDir(), 'w.duckdb');
    await (await openWarehouse({ path })).close();
    const wh = await openWarehouse({ path, checkpointOnClose: false });
    // Inserts smaller than a row group go through the log (a large one is written to the file directly).
    await wh.run('CREATE TABLE big (i BIGINT, h VARCHAR)');
    for (let k = 0; k < 4; k++) {
      await wh.run(
        `INSERT INTO big SELECT range, md5(range::VARCHAR) FROM range(${k * 1000}, ${(k + 1) * 1000})`,
      );
    }
    const size = statSync(`${path}.wal`).size;
    assert.ok(size > 64 << 10 && size < 1 << 20, `a log of ${size} bytes`);
    await wh.close();
    assert.equal(existsSync(`${path}.wal`), false);
    const again = await openWarehouse({ path, readOnly: true });
    assert.deepEqual(await again.query('SELECT count(*)::INTEGER AS n FROM big'), [{ n: 4000 }]);
    await again.close();
  });
});

describe('migrations', () => {
  test('opening an older database migrates it and keeps its data', async () => {
    const path = join(tempDir(), 'old.duckdb');
    const old = await openWarehouse({ path, schemaVersion: 1 });
    assert.equal(await schemaVersion(old), 1);
    await old.run(
      `INSERT INTO events (message_id, type, event, user_id, ts, received_at, source, ingest_batch) VALUES ('m1', 'track', 'Signed Up', 'u1', TIMESTAMP '2026-01-01 00:00:00', TIMESTAMP '2026-01-01 00:00:00', 'import', 1)`,
    );
    await assert.rejects(old.query('SELECT * FROM rejected_events'), /rejected_events/);
    await old.close();

    const reopened = await openWarehouse({ path });
    assert.equal(await schemaVersion(reopened), LATEST_SCHEMA_VERSION);
    assert.deepEqual(await reopened.query('SELECT message_id FROM events'), [{ message_id: 'm1' }]);
    assert.deepEqual(await reopened.query('SELECT count(*) AS n FROM rejected_events'), [{ n: 0 }]);
    await reopened.close();
  });

  test('migration 21 lists the merged-away person ids that still hold rows', async () => {
    const path = join(tempDir(), 'v20.duckdb');
    const old = await openWarehouse({ path, schemaVersion: 20 });
    // anon-1 was a person with a membership, then merged into user-1; anon-2 merged too but holds nothing.
    await old.run(`INSERT INTO identities (identifier, person_id, is_user) VALUES
      ('anon-1', 'user-1', FALSE), ('user-1', 'user-1', TRUE), ('anon-2', 'user-1', FALSE), ('u9', 'u9', TRUE)`);
    await old.run(`INSERT INTO segment_memberships (segment, person_id, entered_at, exited_at) VALUES
      ('buyers', 'anon-1', TIMESTAMP '2026-01-01 00:00:00', NULL), ('buyers', 'u9', TIMESTAMP '2026-01-01 00:00:00', NULL)`);
    await old.close();
    const wh = await openWarehouse({ path });
    assert.deepEqual(await wh.query('SELECT old_person_id, person_id FROM person_merges'), [
      { old_person_id: 'anon-1', person_id: 'user-1' },
    ]);
    await wh.close();
  });

  test('migration 22 rebuilds the identity tables without unique keys, keeping their rows and lookups', async () => {
    const path = join(tempDir(), 'v21.duckdb');
    const old = await openWarehouse({ path, schemaVersion: 21 });
    await old.run(
      `INSERT INTO identities (identifier, person_id, is_user) VALUES ('a1', 'u1', FALSE), ('u1', 'u1', TRUE)`,
    );
    await old.run(`INSERT INTO identity_traits (identifier, key, value, ts, message_id) VALUES
      ('u1', 'plan', '"pro"', TIMESTAMP '2026-01-01 00:00:00', 'm1')`);
    await old.close();
    const wh = await openWarehouse({ path });
    try {
      const keyed = await wh.query<{ table_name: string }>(
        `SELECT table_name FROM duckdb_constraints() WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE')
         AND table_name IN ('identities', 'identity_activity', 'identity_traits', 'identity_consent', 'consent_history', 'identity_emails')`,
      );
      assert.deepEqual(keyed, []);
      const indexes = await wh.query<{ index_name: string }>(
        `SELECT index_name FROM duckdb_indexes() WHERE table_name IN ('identities', 'identity_traits') ORDER BY 1`,
      );
      assert.deepEqual(
        indexes.map((r) => r.index_name),
        ['identities_identifier', 'identities_person', 'identity_traits_identifier'],
      );
      assert.deepEqual(await wh.query('SELECT identifier, person_id FROM identities ORDER BY 1'), [
        { identifier: 'a1', person_id: 'u1' },
        { identifier: 'u1', person_id: 'u1' },
      ]);
      // The upsert port still keeps one row per key: a later value replaces the stored one.
      await wh.storage.upsert({
        table: 'identity_traits',
        columns: ['identifier', 'key', 'value', 'ts', 'message_id'],
        key: ['identifier', 'key'],
        from: { rows: [['u1', 'plan', '"team"', new Date('2026-02-01T00:00:00Z'), 'm2']] },
        update: ['value', 'ts', 'message_id'],
      });
      assert.deepEqual(await wh.query('SELECT identifier, key, value FROM identity_traits'), [
        { identifier: 'u1', key: 'plan', value: '"team"' },
      ]);
    } finally {
      await wh.close();
    }
  });

  test('a database from a newer segflow is refused with a clear message', async () => {
    const path = join(tempDir(), 'new.duckdb');
    const wh = await openWarehouse({ path });
    await wh.run(`UPDATE segflow_meta SET value = ? WHERE key = 'schema_version'`, [
      String(LATEST_SCHEMA_VERSION + 1),
    ]);
    await wh.close();
    await assert.rejects(openWarehouse({ path }), (e: unknown) => {
      assert.ok(e instanceof SegflowError);
      assert.equal(e.code, 'DB_SCHEMA_TOO_NEW');
      assert.match(e.message, new RegExp(`schema version ${LATEST_SCHEMA_VERSION + 1}`));
      assert.match(e.hint ?? '', /upgrade segflow/);
      return true;
    });
  });

  test('a read-only open refuses an older database instead of reading stale views', async () => {
    const path = join(tempDir(), 'old-ro.duckdb');
    await (await openWarehouse({ path, schemaVersion: 1 })).close();
    await assert.rejects(openWarehouse({ path, readOnly: true }), (e: unknown) => {
      assert.ok(e instanceof SegflowError);
      assert.equal(e.code, 'DB_SCHEMA_OLD');
      assert.match(e.hint ?? '', /once to upgrade/);
      return true;
    });
    await (await openWarehouse({ path })).close();
    const ro = await openWarehouse({ path, readOnly: true });
    assert.deepEqual(await ro.query('SELECT count(*) AS n FROM events'), [{ n: 0 }]);
    await ro.close();
  });

  test('migrating twice is a no-op', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    assert.deepEqual(await migrate(wh), { from: LATEST_SCHEMA_VERSION, to: LATEST_SCHEMA_VERSION });
    await wh.close();
  });
});

test('a new database is made in one commit: every migration is recorded, and a failing one leaves nothing', async () => {
  const wh = await openWarehouse({ path: ':memory:' });
  try {
    const applied = await wh.query<{ key: string }>(
      `SELECT key FROM segflow_meta WHERE key LIKE 'migration:%' ORDER BY CAST(substr(key, 11) AS INTEGER)`,
    );
    assert.deepEqual(
      applied.map((r) => r.key),
      MIGRATIONS.map((m) => `migration:${m.version}`),
    );
  } finally {
    await wh.close();
  }

  const fresh = await openDuckDB({ path: ':memory:', readOnly: false, checkpointOnClose: false });
  try {
    const broken = [
      ...MIGRATIONS.slice(0, 3),
      { version: 4, description: 'fails', statements: () => ['SELECT no_such_column FROM events'] },
    ];
    await assert.rejects(migrate(fresh, undefined, broken), /no_such_column/);
    assert.equal(await schemaVersion(fresh), 0);
    const tables = await fresh.query<{ n: bigint }>(
      "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'events'",
    );
    assert.equal(Number(tables[0]!.n), 0);
    // The next open starts over and makes the whole schema.
    assert.deepEqual(await migrate(fresh), { from: 0, to: LATEST_SCHEMA_VERSION });
  } finally {
    await fresh.close();
  }
});

test('a migration numbered below one already applied still runs (branches merged in another order)', async () => {
  const wh = await openWarehouse({ path: ':memory:' });
  try {
    // Pretend the newest migration's predecessor never ran: forget it and drop what it created.
    const [previous] = MIGRATIONS.slice(-2);
    await wh.run(`DELETE FROM segflow_meta WHERE key = ?`, [`migration:${previous!.version}`]);
    for (const sql of previous!.statements(wh.dialect)) {
      const table = /CREATE TABLE (?:IF NOT EXISTS )?("?\w+"?)/i.exec(sql)?.[1];
      if (table) await wh.run(`DROP TABLE ${table}`);
    }
    assert.equal(await schemaVersion(wh), LATEST_SCHEMA_VERSION);
    await migrate(wh);
    const applied = await wh.query<{ key: string }>(`SELECT key FROM segflow_meta WHERE key = ?`, [
      `migration:${previous!.version}`,
    ]);
    assert.equal(applied.length, 1);
    assert.equal(await schemaVersion(wh), LATEST_SCHEMA_VERSION);
  } finally {
    await wh.close();
  }
});

describe('the reader: reads that do not wait behind writes', () => {
  test('answers while a transaction holds the writer, with what is committed', async () => {
    const dir = tempDir();
    const wh = await openWarehouse({ path: join(dir, 'r.duckdb') });
    await wh.run('CREATE TABLE t (x INTEGER)');
    await wh.run('INSERT INTO t VALUES (1)');
    const reads = await wh.reader();
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let inserted!: () => void;
    const didInsert = new Promise<void>((r) => {
      inserted = r;
    });
    const writing = wh.transaction(async (tx) => {
      await tx.run('INSERT INTO t VALUES (2)');
      inserted();
      await held; // the writer's queue is blocked until released
    });
    await didInsert;
    // On the writer's own connection this read would wait for the transaction; the reader answers now, without
    // the uncommitted row.
    const read = reads.query<{ n: bigint }>('SELECT count(*) AS n FROM t');
    // (A read queued behind the writer would never answer before the release: give up after 10 s, not forever.)
    const during = await Promise.race([
      read,
      new Promise<'waited'>((r) => setTimeout(() => r('waited'), 10_000)),
    ]);
    release();
    assert.notEqual(during, 'waited', 'the read waited for the writer');
    assert.equal(Number((during as { n: bigint }[])[0]!.n), 1);
    await writing;
    const after = await reads.query<{ n: bigint }>('SELECT count(*) AS n FROM t');
    assert.equal(Number(after[0]!.n), 2, 'committed rows are seen');
    // Inside a transaction the reader is the transaction itself (it must see its own changes).
    await wh.transaction(async (tx) => assert.equal(await tx.reader(), tx));
    await wh.close();
    // Closing the warehouse closed its reader too.
    await assert.rejects(reads.query('SELECT 1'));
  });

  test('each name is a connection of its own: one held in a long read does not hold up another', async () => {
    const wh = await openWarehouse({ path: join(tempDir(), 'n.duckdb') });
    const reads = await wh.reader();
    const bulk = await wh.reader('bulk');
    assert.equal(await wh.reader(), reads, 'the same name is the same connection');
    assert.notEqual(bulk, reads);
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    // The bulk connection is held (as by a snapshot's load of a million people) until released.
    const holding = bulk.exclusive(async () => held);
    const during = await Promise.race([
      reads.query<{ one: number }>('SELECT 1 AS one'),
      new Promise<'waited'>((r) => setTimeout(() => r('waited'), 10_000)),
    ]);
    release();
    await holding;
    assert.notEqual(during, 'waited', 'the read waited for the other connection');
    await wh.close();
    await assert.rejects(bulk.query('SELECT 1'), 'closing the warehouse closed every reader');
  });
});
