import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { SegflowError } from '../../src/errors.js';
import { importFile } from '../../src/instrument/import/import-file.js';
import { CDNOW_MASTER, CDNOW_SAMPLE, FIXTURES, tempDir } from '../helpers/temp.js';

describe('CDNOW preset', () => {
  test('the whole log imports: 69,659 events, 23,570 persons, 2,500,315.63 in revenue; again adds nothing', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    const first = await importFile(wh, { path: CDNOW_MASTER, preset: 'cdnow', rejectsPath: null });
    assert.deepEqual(
      {
        received: first.received,
        inserted: first.inserted,
        duplicates: first.duplicates,
        rejected: first.rejected,
      },
      { received: 69659, inserted: 69659, duplicates: 0, rejected: 0 },
    );
    const [totals] = await wh.query<{
      events: number;
      persons: number;
      cents: number;
      first: Date;
      last: Date;
      zero: number;
    }>(
      `SELECT count(*) AS events, count(DISTINCT person_id) AS persons, CAST(round(sum(revenue) * 100) AS BIGINT) AS cents,
              min(ts) AS first, max(ts) AS last, count(*) FILTER (WHERE revenue = 0) AS zero
       FROM person_events WHERE event = 'Order Completed'`,
    );
    assert.equal(totals!.events, 69659);
    assert.equal(totals!.persons, 23570);
    assert.equal(totals!.cents, 250031563);
    assert.equal(totals!.zero, 80);
    assert.equal(totals!.first.toISOString(), '1997-01-01T00:00:00.000Z');
    assert.equal(totals!.last.toISOString(), '1998-06-30T00:00:00.000Z');
    assert.deepEqual(await wh.query('SELECT count(*) AS n FROM persons'), [{ n: 23570 }]);
    const [cds] = await wh.query<{ cds: number }>(
      `SELECT sum(CAST(json_extract(properties, '$.quantity') AS BIGINT)) AS cds FROM events`,
    );
    assert.ok(cds!.cds > 69659, 'quantities are the number of CDs per row');

    const again = await importFile(wh, { path: CDNOW_MASTER, preset: 'cdnow', rejectsPath: null });
    assert.deepEqual([again.inserted, again.duplicates], [0, 69659]);
    assert.deepEqual(await wh.query('SELECT count(*) AS n FROM events'), [{ n: 69659 }]);
    await wh.close();
  });

  test('with or without a header, CRLF or LF: the same events; the sample (5 columns) is the same purchases', async () => {
    const dir = tempDir();
    const lf = join(dir, 'cdnow-lf.txt');
    const lines = (await import('node:fs')).readFileSync(CDNOW_SAMPLE, 'utf8').split('\r\n').filter(Boolean);
    // The sample's rows as master-format rows (customer id, date, CDs, dollars), LF endings and no header.
    writeFileSync(
      lf,
      `${lines
        .map((l) => l.trim().split(/\s+/))
        .map((p) => [p[0], p[2], p[3], p[4]].join(' '))
        .join('\n')}\n`,
    );

    const a = await openWarehouse({ path: ':memory:' });
    const fromSample = await importFile(a, { path: CDNOW_SAMPLE, preset: 'cdnow', rejectsPath: null });
    const b = await openWarehouse({ path: ':memory:' });
    const fromLf = await importFile(b, { path: lf, preset: 'cdnow', rejectsPath: null });
    assert.equal(fromSample.inserted, 6919);
    assert.equal(fromLf.inserted, 6919);
    const digest = 'SELECT message_id, user_id, ts, revenue FROM events ORDER BY message_id';
    assert.deepEqual(await a.query(digest), await b.query(digest));
    assert.deepEqual(await a.query('SELECT count(DISTINCT user_id) AS n FROM events'), [{ n: 2357 }]);
    await a.close();
    await b.close();
  });

  test('bad rows are rejected with their line and reason; the rest imports', async () => {
    const dir = tempDir();
    const file = join(dir, 'cdnow-bad.txt');
    writeFileSync(
      file,
      [
        'customer_id date number_of_cds dollar_value',
        '00001 19970101 1 11.77',
        '00002 19971399 1 12.00',
        '00003 19970102 two 9.99',
        '00004 19970102',
        '00005 19970103 2 20.00',
      ].join('\r\n'),
    );
    const wh = await openWarehouse({ path: ':memory:' });
    const s = await importFile(wh, { path: file, preset: 'cdnow', rejectsPath: join(dir, 'r.ndjson') });
    assert.deepEqual([s.received, s.inserted, s.rejected], [5, 2, 3]);
    const rejected = await wh.query<{ row_no: number; problems: string }>(
      'SELECT row_no, problems FROM rejected_events ORDER BY row_no',
    );
    assert.deepEqual(
      rejected.map((r) => r.row_no),
      [3, 4, 5],
    );
    assert.match(rejected[0]!.problems, /\$\.timestamp: '19971399' is not an ISO-8601 date-time/);
    assert.match(rejected[1]!.problems, /\$\.properties\.quantity: 'two' is not an integer \(column cds\)/);
    assert.match(rejected[2]!.problems, /expected 4 whitespace-separated columns/);
    await wh.close();
  });
});

describe('CSV, Parquet and the rees46 preset', () => {
  test('rees46: event types map to the e-commerce spec, purchases carry revenue, bad rows are located', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    const s = await importFile(wh, {
      path: join(FIXTURES, 'rees46/sample.csv'),
      preset: 'rees46',
      rejectsPath: null,
    });
    assert.deepEqual([s.received, s.inserted, s.rejected], [8, 6, 2]);
    const events = await wh.query<{ event: string; n: number; revenue: number | null }>(
      'SELECT event, count(*) AS n, sum(revenue) AS revenue FROM events GROUP BY event ORDER BY event',
    );
    assert.deepEqual(events, [
      { event: 'Order Completed', n: 1, revenue: 1081.98 },
      { event: 'Product Added', n: 1, revenue: null },
      { event: 'Product Removed', n: 1, revenue: null },
      { event: 'Product Viewed', n: 3, revenue: null },
    ]);
    const rejected = await wh.query<{ row_no: number; problems: string }>(
      'SELECT row_no, problems FROM rejected_events ORDER BY row_no',
    );
    assert.deepEqual(
      rejected.map((r) => r.row_no),
      [8, 9],
    );
    assert.match(rejected[0]!.problems, /\$\.timestamp: 'not a date'/);
    assert.match(
      rejected[1]!.problems,
      /\$\.properties\.price: 'three hundred' is not a number \(column price\)/,
    );
    const [ts] = await wh.query<{ ts: Date }>('SELECT min(ts) AS ts FROM events');
    assert.equal(ts!.ts.toISOString(), '2019-10-01T00:00:00.000Z');
    await wh.close();
  });

  test('a CSV with a mapping, and the same rows as Parquet, give the same events', async () => {
    const dir = tempDir();
    const csv = join(dir, 'orders.csv');
    writeFileSync(
      csv,
      'order,customer,day,amount,vip\nA1,c1,20260105,10.5,yes\nA2,c2,20260106,7,no\nA3,c1,20260107,3.25,1\n',
    );
    const mapping = {
      event: { value: 'Order Completed' },
      messageId: 'order',
      userId: 'customer',
      timestamp: { column: 'day', format: '%Y%m%d' },
      properties: {
        revenue: { column: 'amount', type: 'number' as const },
        vip: { column: 'vip', type: 'boolean' as const },
      },
    };
    const a = await openWarehouse({ path: ':memory:' });
    await importFile(a, { path: csv, mapping, rejectsPath: null });
    const parquet = join(dir, 'orders.parquet');
    await a.exportToFile(`SELECT * FROM ${a.dialect.readCsv('?', { header: true })}`, [csv], {
      path: parquet,
      format: 'parquet',
    });
    const b = await openWarehouse({ path: ':memory:' });
    const s = await importFile(b, { path: parquet, mapping, rejectsPath: null });
    assert.equal(s.inserted, 3);
    const q = 'SELECT message_id, user_id, ts, revenue, properties FROM events ORDER BY message_id';
    const rows = await a.query(q);
    assert.deepEqual(rows, await b.query(q));
    assert.deepEqual(
      rows.map((r) => [r.message_id, r.revenue, JSON.parse(String(r.properties)).vip]),
      [
        ['A1', 10.5, true],
        ['A2', 7, false],
        ['A3', 3.25, true],
      ],
    );
    await a.close();
    await b.close();
  });

  test('a mapping naming a missing column fails before importing anything, listing the columns', async () => {
    const dir = tempDir();
    const csv = join(dir, 'x.csv');
    writeFileSync(csv, 'a,b\n1,2\n');
    const wh = await openWarehouse({ path: ':memory:' });
    await assert.rejects(
      importFile(wh, { path: csv, mapping: { userId: 'customer' }, rejectsPath: null }),
      (e: unknown) => {
        assert.ok(e instanceof SegflowError);
        assert.equal(e.code, 'IMPORT_MAPPING_INVALID');
        assert.match(e.message, /names column 'customer'/);
        assert.match(e.hint ?? '', /a, b/);
        return true;
      },
    );
    assert.deepEqual(await wh.query('SELECT count(*) AS n FROM events'), [{ n: 0 }]);
    await wh.close();
  });
});

describe('files that cannot be read', () => {
  test('a missing file, a directory and a corrupt Parquet file fail clearly and import nothing', async () => {
    const dir = tempDir();
    const corrupt = join(dir, 'broken.parquet');
    writeFileSync(corrupt, 'PAR1 this is not really parquet');
    copyFileSync(CDNOW_SAMPLE, join(dir, 'ok.txt'));
    const wh = await openWarehouse({ path: ':memory:' });
    for (const [path, why] of [
      [join(dir, 'nope.ndjson'), /no such file/],
      [dir, /not a regular file/],
      [corrupt, /cannot read/],
    ] as const) {
      await assert.rejects(
        importFile(wh, { path, mapping: { userId: 'x' }, rejectsPath: null }),
        (e: unknown) =>
          e instanceof SegflowError && e.code === 'IMPORT_FILE_UNREADABLE' && why.test(e.message),
        path,
      );
    }
    assert.deepEqual(await wh.query('SELECT count(*) AS n FROM events'), [{ n: 0 }]);
    assert.deepEqual(await wh.query('SELECT count(*) AS n FROM import_runs'), [{ n: 0 }]);
    await wh.close();
  });
});

describe('NDJSON', () => {
  // The engine reads a big file on several threads: every verdict must still name its own line, and a repeated
  // messageId keep its first row (both rest on the rows' numbers following the file).
  test('a file of many row groups: a rejected row names its line, a repeated id keeps its first row', async () => {
    const lines = 300_000;
    const rows = Array.from({ length: lines }, (_, i) => {
      const line = i + 1;
      if (line === 250_000) return JSON.stringify({ event: 'No Type', userId: 'u1', messageId: `m${line}` });
      return JSON.stringify({
        type: 'track',
        event: 'Viewed',
        userId: `u${line % 997}`,
        // Line 280,000 repeats line 20,000's id: the first of them is the one stored.
        messageId: line === 280_000 ? 'm20000' : `m${line}`,
        timestamp: '2026-01-01T00:00:00Z',
        properties: { line },
      });
    });
    const path = join(tempDir(), 'big.ndjson');
    writeFileSync(path, `${rows.join('\n')}\n`);
    const wh = await openWarehouse({ path: ':memory:' });
    const summary = await importFile(wh, { path, rejectsPath: null });
    assert.equal(summary.reader, 'engine');
    assert.deepEqual(
      { rejected: summary.rejected, duplicates: summary.duplicates, inserted: summary.inserted },
      { rejected: 1, duplicates: 1, inserted: lines - 2 },
    );
    assert.deepEqual(await wh.query('SELECT row_no, message_id FROM rejected_events'), [
      { row_no: 250_000, message_id: 'm250000' },
    ]);
    assert.deepEqual(
      await wh.query(
        `SELECT CAST(json_extract(properties, '$.line') AS INTEGER) AS line FROM events WHERE message_id = 'm20000'`,
      ),
      [{ line: 20_000 }],
    );
    await wh.close();
  });

  // Reads of a time range skip row groups outside it, so an import is stored in time order; a file already in time
  // order (here with every pair of neighbours swapped, as late events make) keeps its own order, unsorted.
  test('a history written person by person is stored in time order; a time-ordered export keeps its order', async () => {
    const people = 4_000;
    const perPerson = 110;
    const minute = (n: number) => new Date(Date.UTC(2026, 0, 1) + n * 60_000).toISOString();
    const message = (person: number, k: number) =>
      JSON.stringify({
        type: 'track',
        event: 'Viewed',
        userId: `u${person}`,
        messageId: `m${person}-${k}`,
        timestamp: minute(k * people + person),
      });
    const byPerson = Array.from({ length: people * perPerson }, (_, i) =>
      message(Math.floor(i / perPerson), i % perPerson),
    );
    const byTime = Array.from({ length: people * perPerson }, (_, i) => {
      const j = i % 2 === 0 ? i + 1 : i - 1; // neighbours swapped
      return message(j % people, Math.floor(j / people));
    });
    const dir = tempDir();
    const stored = async (rows: string[], name: string) => {
      const path = join(dir, name);
      writeFileSync(path, `${rows.join('\n')}\n`);
      const wh = await openWarehouse({ path: ':memory:' });
      await importFile(wh, { path, rejectsPath: null });
      const [order] = await wh.query<{ n: number; backwards: number; first: string }>(
        `SELECT count(*) AS n, count(*) FILTER (WHERE ts < prev) AS backwards, min(message_id) FILTER (WHERE r = 1) AS first
         FROM (SELECT message_id, ts, lag(ts) OVER (ORDER BY rowid) AS prev, row_number() OVER (ORDER BY rowid) AS r FROM events)`,
      );
      await wh.close();
      return { n: Number(order!.n), backwards: Number(order!.backwards), first: order!.first };
    };
    assert.deepEqual(await stored(byPerson, 'by-person.ndjson'), { n: 440_000, backwards: 0, first: 'm0-0' });
    // Sorted, it would have no step backwards and start with m0-0.
    const kept = await stored(byTime, 'by-time.ndjson');
    assert.equal(kept.n, 440_000);
    assert.ok(kept.backwards >= 200_000, `kept the file's order: ${JSON.stringify(kept)}`);
  });

  test('a clean file takes the engine reader; the same rows with a blank line take the line reader; same result', async () => {
    const dir = tempDir();
    const rows = Array.from({ length: 500 }, (_, i) =>
      JSON.stringify({
        type: i % 5 === 0 ? 'identify' : 'track',
        event: 'Product Viewed',
        userId: `u${i % 50}`,
        anonymousId: `a${i % 70}`,
        messageId: `m${i}`,
        timestamp: `2026-01-01T00:${String(i % 60).padStart(2, '0')}:00Z`,
        properties: { revenue: i },
      }),
    );
    const clean = join(dir, 'clean.ndjson');
    const messy = join(dir, 'messy.ndjson');
    writeFileSync(clean, `${rows.join('\n')}\n`);
    writeFileSync(messy, `${rows.slice(0, 250).join('\r\n')}\r\n\r\n${rows.slice(250).join('\r\n')}`);
    const a = await openWarehouse({ path: ':memory:' });
    const b = await openWarehouse({ path: ':memory:' });
    const sa = await importFile(a, { path: clean, rejectsPath: null });
    const sb = await importFile(b, { path: messy, rejectsPath: null });
    assert.equal(sa.reader, 'engine');
    assert.equal(sb.reader, 'lines');
    assert.equal(sa.inserted, 500);
    assert.equal(sb.inserted, 500);
    const q =
      'SELECT message_id, type, event, user_id, anonymous_id, ts, revenue, properties FROM events ORDER BY message_id';
    assert.deepEqual(await a.query(q), await b.query(q));
    const ids = 'SELECT identifier, person_id FROM identities ORDER BY identifier';
    assert.deepEqual(await a.query(ids), await b.query(ids));
    await a.close();
    await b.close();
  });
});

describe('Segment-shaped tables', () => {
  test('a Parquet file with Segment field names imports without a mapping, like the same NDJSON', async () => {
    const dir = tempDir();
    const ndjson = join(dir, 'events.ndjson');
    const rows = [
      {
        type: 'identify',
        userId: 'u1',
        anonymousId: 'a1',
        messageId: 'm1',
        timestamp: '2026-01-01T00:00:00Z',
        traits: { plan: 'pro' },
      },
      {
        type: 'track',
        event: 'Order Completed',
        anonymousId: 'a1',
        messageId: 'm2',
        timestamp: '2026-01-02T00:00:00Z',
        properties: { revenue: 12.5, products: [{ id: 'p1' }] },
      },
      { type: 'page', name: 'Home', anonymousId: 'a2', messageId: 'm3', timestamp: '2026-01-03T00:00:00Z' },
    ];
    writeFileSync(ndjson, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
    const a = await openWarehouse({ path: ':memory:' });
    await importFile(a, { path: ndjson, rejectsPath: null });
    const parquet = join(dir, 'events.parquet');
    await a.exportToFile(`SELECT * FROM ${a.dialect.readNdjson('?', {})}`, [ndjson], {
      path: parquet,
      format: 'parquet',
    });
    const b = await openWarehouse({ path: ':memory:' });
    const s = await importFile(b, { path: parquet, rejectsPath: null });
    assert.deepEqual([s.inserted, s.rejected], [3, 0]);
    const q = `SELECT message_id, type, event, name, user_id, anonymous_id, ts, revenue FROM events ORDER BY message_id`;
    assert.deepEqual(await b.query(q), await a.query(q));
    const props = await b.query<{ p: string }>(`SELECT properties AS p FROM events WHERE message_id = 'm2'`);
    assert.deepEqual(JSON.parse(props[0]!.p), { revenue: 12.5, products: [{ id: 'p1' }] });
    const ids = 'SELECT identifier, person_id FROM identities ORDER BY identifier';
    assert.deepEqual(await b.query(ids), await a.query(ids));
    await a.close();
    await b.close();
  });
});
