import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import type { Row, Warehouse } from '../../src/engine/warehouse.js';
import { writeGeneratedFiles } from '../../src/generate/index.js';
import { importFile } from '../../src/instrument/import/import-file.js';
import { parseMapping } from '../../src/instrument/import/mapping.js';
import { ingestJsonTexts, ingestMessages } from '../../src/instrument/ingest-messages.js';
import { squashPersonOverrides } from '../../src/instrument/persons-on-events.js';
import { comparableRows } from '../helpers/comparable-rows.js';
import { mulberry32 } from '../helpers/random.js';
import { CDNOW_SAMPLE, tempDir } from '../helpers/temp.js';

/**
 * Import and identity merges on both engines: the same generated shop imported into DuckDB and into ClickHouse
 * (chdb) must leave the same persons, identities, edges, traits, consent, accounts and events (with their stored
 * person ids), row for row; so must the same messages ingested in shuffled batches (collector and JSON-text paths,
 * with rows lacking a messageId, repeats and invalid rows), before and after the squash of person overrides.
 *
 * Values are compared as `comparableRows` makes them: JSON objects as objects, doubles to 12 digits.
 */

const RECEIVED_AT = new Date('2026-03-01T00:00:00Z');

const TABLES: Record<string, string> = {
  events: 'SELECT * FROM events ORDER BY message_id',
  identities: 'SELECT * FROM identities ORDER BY identifier',
  identity_edges: 'SELECT * FROM identity_edges ORDER BY a, b',
  identity_traits: 'SELECT * FROM identity_traits ORDER BY identifier, key',
  identity_activity: 'SELECT * FROM identity_activity ORDER BY identifier',
  identity_consent: 'SELECT * FROM identity_consent ORDER BY identifier, purpose',
  consent_history: 'SELECT * FROM consent_history ORDER BY identifier, purpose, message_id',
  account_traits: 'SELECT * FROM account_traits ORDER BY group_id, key',
  account_members: 'SELECT * FROM account_members ORDER BY group_id, identifier',
  person_overrides: 'SELECT old_person_id, person_id FROM person_overrides ORDER BY old_person_id',
  person_merges: 'SELECT old_person_id, person_id FROM person_merges ORDER BY old_person_id',
  persons: 'SELECT * FROM persons ORDER BY person_id',
  accounts: 'SELECT * FROM accounts ORDER BY group_id',
  person_events: 'SELECT person_id, message_id FROM person_events ORDER BY message_id',
  rejected_events:
    'SELECT source, row_no, message_id, problems, raw FROM rejected_events ORDER BY source, row_no',
};

async function tables(wh: Warehouse): Promise<Record<string, Row[]>> {
  const out: Record<string, Row[]> = {};
  for (const [name, sql] of Object.entries(TABLES)) {
    out[name] = comparableRows(await wh.query(sql));
  }
  return out;
}

/** A generated log, with messy lines: no messageId (twice: derived ids rank repeats), invalid times, not JSON. */
async function generatedLog(profile: 'ecommerce' | 'saas', seed: number, people: number) {
  const dir = tempDir();
  const out = join(dir, 'events.ndjson');
  await writeGeneratedFiles({ people, days: 40, seed, profile, out, truthOut: join(dir, 'truth.ndjson') });
  const messy = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .slice(0, 40)
    .map((line, i) => {
      const m = JSON.parse(line) as Record<string, unknown>;
      if (i % 3 === 0) delete m.messageId;
      if (i % 7 === 0) m.timestamp = 'yesterday';
      return JSON.stringify(m);
    });
  appendFileSync(out, `${[...messy, 'not json', '{"type":"track"}', ...messy.slice(0, 10)].join('\n')}\n`);
  return { dir, out };
}

/** Open DuckDB in memory, or ClickHouse embedded in a fresh folder (chdb runs one engine at a time: close first). */
function open(engine: 'duckdb' | 'clickhouse', dir: string): Promise<Warehouse> {
  return engine === 'duckdb'
    ? openWarehouse({ path: ':memory:' })
    : openWarehouse({ clickhouse: { folder: join(dir, `chdb-${Date.now()}`), database: 'segflow' } });
}

async function importWhole(
  wh: Warehouse,
  path: string,
  options: Pick<Parameters<typeof importFile>[1], 'preset' | 'mapping'> = {},
): Promise<Record<string, unknown[]>> {
  const summary = await importFile(wh, { path, rejectsPath: null, receivedAt: RECEIVED_AT, ...options });
  return { counts: [{ ...summary, seconds: 0, rowsPerSecond: 0 }], ...(await tables(wh)) };
}

/** The file's lines shuffled, in batches through both ingest paths, then the overrides squashed. */
async function ingestShuffled(wh: Warehouse, path: string) {
  const rand = mulberry32(5);
  const lines = readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => [rand(), l] as const)
    .sort((a, b) => a[0] - b[0])
    .map(([, l]) => l);
  const counts = [];
  for (let i = 0, n = 0; i < lines.length; i += 1500, n++) {
    const batch = lines.slice(i, i + 1500);
    counts.push(
      n % 2 === 0
        ? await ingestJsonTexts(wh, batch, { source: 'test', receivedAt: RECEIVED_AT })
        : await ingestMessages(
            wh,
            batch.map((l) => {
              try {
                return JSON.parse(l) as unknown;
              } catch {
                return l;
              }
            }),
            { source: 'collector', receivedAt: RECEIVED_AT },
          ),
    );
  }
  const before = await tables(wh);
  const squash = await squashPersonOverrides(wh);
  return { counts, before, squash, after: await tables(wh) };
}

describe('import and identity merges give the same rows on DuckDB and ClickHouse (chdb)', () => {
  for (const profile of ['ecommerce', 'saas'] as const) {
    test(`${profile}: a whole file through the engine's reader`, async () => {
      const { dir, out } = await generatedLog(profile, 21, 120);
      const duck = await open('duckdb', dir);
      const expected = await importWhole(duck, out).finally(() => duck.close());
      assert.ok(expected.events!.length > 5000 && expected.rejected_events!.length > 5);
      const ch = await open('clickhouse', dir);
      const actual = await importWhole(ch, out).finally(() => ch.close());
      for (const name of Object.keys(expected)) {
        assert.deepEqual(actual[name], expected[name], name);
      }
    });
  }

  test('mapped files: a preset (CDNOW) and a CSV with a mapping, conversions that fail included', async () => {
    const dir = tempDir();
    const csv = join(dir, 'orders.csv');
    writeFileSync(
      csv,
      [
        'order_id,customer,day,status,price,coupon',
        'o1,c1,20260105,paid,19.5,',
        'o2,c2,20260106,paid,7,SPRING',
        'o3,c1,2026-01-07,paid,12,', // a date not in the format: located problem
        'o4,c3,20260108,paid,twelve,', // a price that is not a number: located problem
        'o5,,20260109,paid,3,', // no user id: rejected
      ].join('\n'),
    );
    const mapping = parseMapping(
      {
        event: { value: 'Order Completed' },
        messageId: 'order_id',
        userId: 'customer',
        timestamp: { column: 'day', format: '%Y%m%d' },
        properties: { status: 'status', revenue: { column: 'price', type: 'number' }, coupon: 'coupon' },
      },
      'test mapping',
    );
    const cases = [
      { path: CDNOW_SAMPLE, options: { preset: 'cdnow' } },
      { path: csv, options: { mapping } },
    ] as const;
    for (const { path, options } of cases) {
      const duck = await open('duckdb', dir);
      const expected = await importWhole(duck, path, options).finally(() => duck.close());
      assert.ok(expected.events!.length > 0, `${path}: events imported`);
      const ch = await open('clickhouse', dir);
      const actual = await importWhole(ch, path, options).finally(() => ch.close());
      for (const name of Object.keys(expected)) {
        assert.deepEqual(actual[name], expected[name], `${path}: ${name}`);
      }
    }
  });

  test('ecommerce: shuffled batches (merges across batches become overrides), then the squash', async () => {
    const { dir, out } = await generatedLog('ecommerce', 22, 60);
    const duck = await open('duckdb', dir);
    const expected = await ingestShuffled(duck, out).finally(() => duck.close());
    assert.ok(expected.squash.overrides > 0, 'some merge crossed batches');
    const ch = await open('clickhouse', dir);
    const actual = await ingestShuffled(ch, out).finally(() => ch.close());
    assert.deepEqual(actual.counts, expected.counts);
    assert.deepEqual(actual.squash, expected.squash);
    for (const stage of ['before', 'after'] as const) {
      for (const name of Object.keys(expected[stage])) {
        assert.deepEqual(actual[stage][name], expected[stage][name], `${stage} the squash: ${name}`);
      }
    }
  });

  test('a CSV with a mapping: the same messages (JSON values as JSON) and the same rejects, with their text', async () => {
    const dir = tempDir();
    const csv = join(dir, 'orders.csv');
    writeFileSync(
      csv,
      'order_id,customer,day,amount,plan\n' +
        'o1,c1,20260101,1.50,"pro, annual"\no2,c2,20260102,three,free\no3,c1,20260103,,free\n',
    );
    const mapping = parseMapping(
      {
        event: { value: 'Order Completed' },
        userId: 'customer',
        messageId: 'order_id',
        timestamp: { column: 'day', format: '%Y%m%d' },
        properties: { revenue: { column: 'amount', type: 'number' }, plan: 'plan' },
      },
      'test mapping',
    );
    const run = async (wh: Warehouse) => {
      await importFile(wh, { path: csv, mapping, rejectsPath: null, receivedAt: RECEIVED_AT });
      return tables(wh);
    };
    const duck = await open('duckdb', dir);
    const expected = await run(duck).finally(() => duck.close());
    assert.equal(expected.events!.length, 2);
    assert.match(String(expected.rejected_events![0]!.raw), /"properties":\{"plan":"free","revenue":null\}/);
    const ch = await open('clickhouse', dir);
    const actual = await run(ch).finally(() => ch.close());
    for (const name of Object.keys(expected)) assert.deepEqual(actual[name], expected[name], name);
  });
});
