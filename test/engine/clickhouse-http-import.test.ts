import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openClickHouse } from '../../src/engine/clickhouse/open-clickhouse.js';
import { openWarehouse } from '../../src/engine/open.js';
import type { Row, Warehouse } from '../../src/engine/warehouse.js';
import { isSegflowError } from '../../src/errors.js';
import { writeGeneratedFiles } from '../../src/generate/index.js';
import { convertNdjsonToParquet } from '../../src/generate/to-parquet.js';
import { type ImportProgress, importFile } from '../../src/instrument/import/import-file.js';
import { parseMapping } from '../../src/instrument/import/mapping.js';
import { featureSource } from '../../src/model/feature-catalog.js';
import { modelConfig } from '../../src/model/model-config.js';
import { refreshFeatures } from '../../src/model/refresh-features.js';
import { SegmentDefinition } from '../../src/segment/definition.js';
import { refreshSegments, segmentMembers } from '../../src/segment/memberships.js';
import {
  type ClickHouseHttpEndpoint,
  startClickHouseHttpEndpoint,
} from '../helpers/clickhouse-http-endpoint.js';
import { comparable, comparableRows } from '../helpers/comparable-rows.js';
import { mulberry32 } from '../helpers/random.js';
import { tempDir } from '../helpers/temp.js';

/**
 * Import over HTTP (issue 19): `@clickhouse/client` drives the ClickHouse adapter through the HTTP test endpoint,
 * which refuses `file()` as a server refuses it to a user without the FILE grant, so every row imported here came
 * over HTTP. The same files (NDJSON clean and messy, CSV with a mapping and a bad row) are imported into DuckDB, into
 * ClickHouse embedded (chdb, which reads the files where they lie) and into ClickHouse over HTTP, then features are
 * refreshed, segments refreshed and one read; every table, summary, reject and result must be equal row for row.
 *
 * A Parquet file is then imported on top, and its events compared between the two ClickHouse paths only: ClickHouse
 * reads a Parquet list that is null as an empty array (its arrays are never NULL), where DuckDB keeps the null.
 */

const RECEIVED_AT = new Date('2026-03-01T00:00:00Z');
const DAY = 86_400_000;

const DEFINITIONS = [
  { name: 'buyers', where: { performed: { event: 'Order Completed' } } },
  { name: 'repeat', where: { performed: { event: 'Order Completed', atLeast: 2 } } },
  { name: 'active', where: { feature: 'lifecycle.stage', equals: 'active' } },
].map((d) => ({ definition: SegmentDefinition.parse(d) }));

const ORDERS_MAPPING = parseMapping(
  {
    event: { value: 'Order Completed' },
    userId: 'customer',
    messageId: 'order_id',
    timestamp: { column: 'day', format: '%Y%m%d' },
    properties: { revenue: { column: 'amount', type: 'number' }, plan: 'plan' },
  },
  'test mapping',
);

interface Files {
  ndjson: string;
  messy: string;
  csv: string;
  parquet: string;
}

/** The files every engine imports: generated with a seed, so each run compares the engines on the same bytes. */
async function writeFiles(dir: string): Promise<Files> {
  const ndjson = join(dir, 'events.ndjson');
  await writeGeneratedFiles({ people: 30, days: 30, seed: 41, profile: 'ecommerce', out: ndjson });
  // Messy: a line that is not JSON, one with an unreadable time and one without a messageId.
  const messy = join(dir, 'messy.ndjson');
  await writeGeneratedFiles({ people: 8, days: 30, seed: 42, profile: 'ecommerce', out: messy });
  const lines = readFileSync(messy, 'utf8').trim().split('\n').slice(0, 40);
  const broken = JSON.parse(lines[3]!) as Record<string, unknown>;
  broken.timestamp = 'last tuesday';
  const anonymous = JSON.parse(lines[5]!) as Record<string, unknown>;
  delete anonymous.messageId;
  lines.splice(3, 1, JSON.stringify(broken));
  lines.splice(5, 1, JSON.stringify(anonymous));
  lines.splice(10, 0, '{"type": "track", "event": "Order Completed", oops');
  writeFileSync(messy, `${lines.join('\n')}\n`);
  // CSV: orders with a quoted field holding the delimiter, and one amount that is not a number.
  const csv = join(dir, 'orders.csv');
  const rand = mulberry32(43);
  const rows = ['order_id,customer,day,amount,plan'];
  for (let i = 0; i < 60; i++) {
    const day = new Date(Date.UTC(2026, 0, 1) + Math.floor(rand() * 50) * DAY);
    const ymd = day.toISOString().slice(0, 10).replaceAll('-', '');
    const amount = i === 17 ? 'three' : (Math.round(rand() * 20000) / 100).toFixed(2);
    const plan = rand() < 0.3 ? '"pro, annual"' : 'free';
    rows.push(`o${i},c${Math.floor(rand() * 12)},${ymd},${amount},${plan}`);
  }
  writeFileSync(csv, `${rows.join('\n')}\n`);
  // Parquet: Segment messages as columns (what `segflow generate --out x.parquet` writes).
  const parquet = join(dir, 'events.parquet');
  const forParquet = join(dir, 'for-parquet.ndjson');
  await writeGeneratedFiles({ people: 6, days: 30, seed: 44, profile: 'ecommerce', out: forParquet });
  await convertNdjsonToParquet(forParquet, parquet);
  return { ndjson, messy, csv, parquet };
}

const TABLES: Record<string, string> = {
  events: 'SELECT * FROM events ORDER BY message_id',
  identities: 'SELECT * FROM identities ORDER BY identifier',
  rejected_events:
    'SELECT source, row_no, message_id, problems, raw FROM rejected_events ORDER BY source, row_no',
  features: 'SELECT * FROM features ORDER BY as_of, person_id',
  segment_memberships: 'SELECT * FROM segment_memberships ORDER BY segment, person_id, entered_at',
};

/** Import every file, refresh features and segments, read a segment: everything an engine computed. */
async function importAndRefresh(wh: Warehouse, files: Files) {
  const rejectsDir = tempDir();
  const progress: ImportProgress[] = [];
  const imports = [];
  for (const [path, mapping] of [[files.ndjson], [files.messy], [files.csv, ORDERS_MAPPING]] as const) {
    const summary = await importFile(wh, {
      path,
      ...(mapping ? { mapping } : {}),
      rejectsPath: join(rejectsDir, `${basename(path)}.rejects.ndjson`),
      receivedAt: RECEIVED_AT,
      onProgress: (p) => progress.push(p),
    });
    const rejects = summary.rejectsFile
      ? readFileSync(summary.rejectsFile, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as unknown)
      : [];
    imports.push({ ...summary, rejectsFile: null, seconds: 0, rowsPerSecond: 0, rejects });
  }
  const [{ t } = { t: new Date() }] = await wh.query<{ t: Date }>('SELECT max(ts) AS t FROM events');
  const asOf = new Date(t.getTime() + DAY);
  const features = await refreshFeatures(wh, modelConfig({}), { asOf });
  const segments = await refreshSegments(wh, DEFINITIONS, { asOf, features: featureSource(wh.dialect) });
  const tables: Record<string, Row[]> = {};
  for (const [name, sql] of Object.entries(TABLES)) tables[name] = comparableRows(await wh.query(sql));
  const repeat = await segmentMembers(wh, 'repeat', { limit: 1000 });
  return {
    imports,
    refreshed: { features: { ...features, seconds: 0 }, segments: { ...segments, seconds: 0 } },
    members: { size: repeat.size, members: comparable(repeat.members) },
    tables,
    progress,
  };
}

type Outcome = Awaited<ReturnType<typeof importAndRefresh>>;

/** The Parquet file imported on top: its summary and the events it stored. */
async function importParquet(wh: Warehouse, files: Files) {
  const summary = await importFile(wh, { path: files.parquet, rejectsPath: null, receivedAt: RECEIVED_AT });
  const events = await wh.query(
    `SELECT * FROM events WHERE source = 'import:events.parquet' ORDER BY message_id`,
  );
  return { summary: { ...summary, seconds: 0, rowsPerSecond: 0 }, events: comparableRows(events) };
}

/** Everything but the progress reports (each engine reports progress its own way). */
const results = ({ progress: _, ...rest }: Outcome) => rest;

describe('import over HTTP: @clickhouse/client sends the files, then a refresh and a segment read', () => {
  const dir = tempDir();
  let files: Files;
  let duckdb: Outcome;
  let embedded: Outcome;
  let embeddedParquet: Awaited<ReturnType<typeof importParquet>>;
  let endpoint: ClickHouseHttpEndpoint;
  before(async () => {
    files = await writeFiles(dir);
  });
  after(async () => {
    await endpoint?.close();
  });

  test('DuckDB (the reference) imports every file, keeps the good rows and rejects the bad ones', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    duckdb = await importAndRefresh(wh, files).finally(() => wh.close());
    const [ndjson, messy, csv] = duckdb.imports;
    assert.equal(ndjson!.reader, 'engine');
    assert.ok(ndjson!.inserted > 500 && ndjson!.rejected === 0, `${ndjson!.inserted} events`);
    // The messy file: the line that is not JSON and the unreadable time are rejected, the rest stored.
    assert.equal(messy!.reader, 'lines');
    assert.equal(messy!.rejected, 2);
    assert.equal(messy!.received, 41);
    assert.equal(messy!.inserted + messy!.duplicates, 39);
    assert.deepEqual(
      (messy!.rejects as { line: number }[]).map((r) => r.line),
      [4, 11],
    );
    assert.equal(csv!.rejected, 1);
    assert.equal(csv!.inserted, 59);
    assert.match(JSON.stringify(csv!.rejects), /three/);
    assert.ok(duckdb.tables.features!.length > 30, `${duckdb.tables.features!.length} feature rows`);
    assert.ok(duckdb.members.size > 0, 'someone bought twice');
  });

  test('ClickHouse, embedded (chdb): reads the files where they lie, the same rows', async () => {
    const wh = await openWarehouse({ clickhouse: { folder: join(dir, 'chdb'), database: 'segflow' } });
    try {
      embedded = await importAndRefresh(wh, files);
      embeddedParquet = await importParquet(wh, files);
    } finally {
      await wh.close();
    }
    assert.deepEqual(results(embedded), results(duckdb));
    assert.ok(
      embeddedParquet.summary.inserted > 50,
      `${embeddedParquet.summary.inserted} events from Parquet`,
    );
  });

  test('ClickHouse over HTTP: the files are sent through the client, the same rows', async () => {
    endpoint = await startClickHouseHttpEndpoint({ password: 'pw' });
    const config = { url: endpoint.url, database: 'segflow', password: 'pw' };
    await (await openWarehouse({ clickhouse: config })).close(); // migrate
    const wh = await openClickHouse(config);
    let overHttp: Outcome;
    let parquet: Awaited<ReturnType<typeof importParquet>>;
    try {
      overHttp = await importAndRefresh(wh, files);
      parquet = await importParquet(wh, files);
    } finally {
      await wh.close();
    }
    assert.deepEqual(results(overHttp), results(embedded));
    assert.deepEqual(results(overHttp), results(duckdb));
    assert.deepEqual(parquet, embeddedParquet);
    // The upload reports how much of each file has been sent, up to all of it (the messy file is sent once, then
    // its lines again for the line-by-line check).
    const sent = overHttp.progress.filter((p) => p.phase === 'loading' && p.fraction === 1);
    assert.equal(sent.length, 3, `${sent.length} files reported fully sent`);
  });

  test('the endpoint refuses to read its own disk, as a server refuses a user without the FILE grant', async () => {
    const wh = await openClickHouse({ url: endpoint.url, database: 'segflow', password: 'pw' });
    try {
      await assert.rejects(
        wh.query(`SELECT count() FROM ${wh.dialect.readCsv('?', { header: true })}`, [files.csv]),
        (e: unknown) => isSegflowError(e) && /ACCESS_DENIED|grant FILE/.test(e.message),
      );
    } finally {
      await wh.close();
    }
  });
});

/** A file that cannot be read, over HTTP: nothing is imported and the error names the file. */
describe('import over HTTP: a file that cannot be read', () => {
  test('a Parquet file that is not Parquet fails as unreadable, and nothing is imported', async () => {
    const dir = tempDir();
    const parquet = join(dir, 'broken.parquet');
    writeFileSync(parquet, 'order_id,customer\no1,c1\n');
    const endpoint = await startClickHouseHttpEndpoint();
    try {
      const config = { url: endpoint.url, database: 'segflow' };
      await (await openWarehouse({ clickhouse: config })).close();
      const wh = await openClickHouse(config);
      try {
        await assert.rejects(
          importFile(wh, { path: parquet, rejectsPath: null }),
          (e: unknown) =>
            isSegflowError(e) && e.code === 'IMPORT_FILE_UNREADABLE' && e.message.includes(parquet),
        );
        assert.deepEqual(await wh.query('SELECT count() AS n FROM events'), [{ n: 0 }]);
      } finally {
        await wh.close();
      }
    } finally {
      await endpoint.close();
    }
  });
});
