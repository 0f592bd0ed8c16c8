import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openClickHouse } from '../../src/engine/clickhouse/open-clickhouse.js';
import { openWarehouse } from '../../src/engine/open.js';
import { EVENTS } from '../../src/engine/schema.js';
import type { SqlValue, Warehouse } from '../../src/engine/warehouse.js';
import { SegmentDefinition } from '../../src/segment/definition.js';
import { refreshSegments, segmentMembers } from '../../src/segment/memberships.js';
import { startClickHouseHttpEndpoint } from '../helpers/clickhouse-http-endpoint.js';
import { mulberry32 } from '../helpers/random.js';

/**
 * Segments on both engines: the same random event log, loaded into DuckDB, into ClickHouse (chdb) and into ClickHouse
 * through @clickhouse/client over HTTP, then refreshed twice (the second refresh after more events, so people enter
 * and exit); the memberships and the refresh sizes must be equal row for row.
 *
 * The log is appended to `events` and `identities` with the warehouse's bulk append (the loader's path); the
 * importer's own SQL does not run on ClickHouse yet (see docs/scaling.md).
 */

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const EVENT_NAMES = ['Order Completed', 'Product Viewed', 'Signed Up', 'Support Ticket'];

/** A seeded log: people u0…u39, events over 60 days, some with revenue. */
function randomLog(seed: number, from: number, count: number): SqlValue[][] {
  const rand = mulberry32(seed);
  const rows: SqlValue[][] = [];
  for (let i = 0; i < count; i++) {
    const person = `u${Math.floor(rand() * 40)}`;
    const event = EVENT_NAMES[Math.floor(rand() * EVENT_NAMES.length)]!;
    const ts = new Date(T0 + Math.floor(rand() * 60 * DAY));
    const revenue = event === 'Order Completed' ? Math.round(rand() * 20000) / 100 : null;
    const row: Record<string, SqlValue> = {
      message_id: `m${from + i}`,
      type: 'track',
      event,
      user_id: person,
      ts,
      received_at: ts,
      properties: JSON.stringify(revenue === null ? { plan: rand() < 0.5 ? 'pro' : 'free' } : { revenue }),
      revenue,
      source: 'test',
      ingest_batch: from,
      person_id: person,
    };
    rows.push([
      ...EVENTS.columns.map((c) => row[c.name] ?? null),
      row.person_id!,
      EVENT_NAMES.indexOf(event) + 1,
    ]);
  }
  return rows;
}

async function load(wh: Warehouse, rows: SqlValue[][]): Promise<void> {
  // Each event stores its kind, as ingest stamps it (see EVENT_KINDS): here kind = the name's place in EVENT_NAMES.
  await wh.storage.upsert({
    table: 'event_kinds',
    columns: ['kind', 'type', 'event'],
    key: ['type', 'event'],
    from: { rows: EVENT_NAMES.map((name, i) => [i + 1, 'track', name]) },
  });
  await wh.append('events', [...EVENTS.columns.map((c) => c.name), 'person_id', 'event_kind'], rows);
  const people = [
    ...new Set(rows.map((r) => String(r[EVENTS.columns.findIndex((c) => c.name === 'user_id')]))),
  ];
  await wh.storage.upsert({
    table: 'identities',
    columns: ['identifier', 'person_id', 'is_user'],
    key: ['identifier'],
    from: { rows: people.map((p) => [p, p, true]) },
  });
}

const DEFINITIONS = [
  { name: 'buyers', where: { performed: { event: 'Order Completed' } } },
  { name: 'recent_buyers', where: { performed: { event: 'Order Completed', within: '14d' } } },
  { name: 'repeat', where: { performed: { event: 'Order Completed', atLeast: 3 } } },
  {
    name: 'viewers_not_buyers',
    where: {
      and: [{ performed: { event: 'Product Viewed' } }, { not: { performed: { event: 'Order Completed' } } }],
    },
  },
].map((d) => ({ definition: SegmentDefinition.parse(d) }));

/** Refresh twice and read what both refreshes left: memberships (with entry and exit) and refresh sizes. */
async function run(wh: Warehouse) {
  await load(wh, randomLog(7, 0, 600));
  const first = await refreshSegments(wh, DEFINITIONS, { asOf: new Date(T0 + 40 * DAY) });
  await load(wh, randomLog(8, 600, 300));
  const second = await refreshSegments(wh, DEFINITIONS, { asOf: new Date(T0 + 61 * DAY), full: true });
  const memberships = await wh.query(
    `SELECT segment, person_id, entered_at, exited_at FROM segment_memberships ORDER BY segment, person_id, entered_at`,
  );
  const members = await segmentMembers(wh, 'recent_buyers', { limit: 1000 });
  return { sizes: [first.segments, second.segments], memberships, members };
}

describe('segments give the same rows on DuckDB, ClickHouse (chdb) and ClickHouse over HTTP', () => {
  const folder = mkdtempSync(join(tmpdir(), 'segflow-chdb-seg-'));
  after(() => rmSync(folder, { recursive: true, force: true }));
  let expected: Awaited<ReturnType<typeof run>>;

  test('DuckDB (the reference)', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    expected = await run(wh).finally(() => wh.close());
    assert.ok(expected.memberships.length > 20, `${expected.memberships.length} memberships`);
    assert.ok(
      expected.memberships.some((m) => m.exited_at !== null),
      'someone exited',
    );
  });

  test('ClickHouse, embedded (chdb)', async () => {
    const wh = await openWarehouse({ clickhouse: { folder, database: 'segflow' } });
    const actual = await run(wh).finally(() => wh.close());
    assert.deepEqual(actual, expected);
  });

  test('ClickHouse over HTTP: @clickhouse/client loads the log, refreshes and reads the segment', async () => {
    const endpoint = await startClickHouseHttpEndpoint({ password: 'pw' });
    try {
      await (
        await openWarehouse({ clickhouse: { url: endpoint.url, database: 'segflow', password: 'pw' } })
      ).close();
      const wh = await openClickHouse({ url: endpoint.url, database: 'segflow', password: 'pw' });
      const actual = await run(wh).finally(() => wh.close());
      assert.deepEqual(actual, expected);
    } finally {
      await endpoint.close();
    }
  });
});
