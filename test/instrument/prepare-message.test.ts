import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { generateEvents } from '../../src/generate/index.js';
import { ingestJsonTexts, ingestMessages } from '../../src/instrument/ingest-messages.js';
import { isoInstantMicros, prepareMessage } from '../../src/instrument/prepare-message.js';
import { mulberry32 } from '../helpers/random.js';

/**
 * The collector's fast path (prepare-message.ts) must store exactly what the SQL checks store. Every message here is
 * ingested twice — through ingestMessages (fast path where it applies) and through ingestJsonTexts (SQL checks only)
 * — and the two databases must hold the same events, rejects, identities and profile facts. The messages are the
 * generator's realistic events and seeded mutations of them aimed at every rule the fast path encodes.
 */

const ID_VARIANTS: unknown[] = [
  'u-1',
  ' u-1',
  'u-1 ',
  '',
  '  ',
  'null',
  'NULL',
  'Undefined',
  '0',
  '-1',
  'n/a',
  '[object Object]',
  'üser',
  'user\u212a',
  'a\u001fb',
  'tab\there',
  '😀',
  '\ud800',
  42,
  -1,
  0,
  1.5,
  true,
  null,
  { id: 1 },
  ['x'],
];
const TIME_VARIANTS: unknown[] = [
  '2026-03-01T10:00:00Z',
  '2026-03-01T10:00:00.1Z',
  '2026-03-01T10:00:00.123456Z',
  '2026-03-01T10:00:00.1234567Z',
  '2026-03-01T10:00:00+05:30',
  '2026-03-01T10:00:00-08:00',
  '2026-03-01T10:00:00+14:00',
  '2026-03-01T10:00:00+15:00',
  '2026-03-01 10:00:00',
  '2026-03-01T10:00:00',
  '2026-03-01',
  '2026-02-30T10:00:00Z',
  '2026-13-01T10:00:00Z',
  '2026-03-01T24:00:00Z',
  '1899-12-31T23:59:59Z',
  '0099-01-01T00:00:00Z',
  '2026-03-01t10:00:00z',
  'yesterday',
  '',
  1767225600000,
  null,
  new Date(Date.UTC(2026, 2, 1, 10, 0, 0, 250)),
];
const REVENUE_VARIANTS: unknown[] = [
  12.5,
  0,
  -3,
  1e21,
  5e-324,
  Number.POSITIVE_INFINITY,
  Number.NaN,
  '12.5',
  ' 7 ',
  'abc',
  '1e3',
  true,
  null,
  { amount: 3 },
  [1],
  new Date(0),
];

/** One seeded mutation of a valid message. */
function mutate(base: Record<string, unknown>, r: () => number): Record<string, unknown> {
  const m: Record<string, unknown> = structuredClone(base);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const kinds = 1 + Math.floor(r() * 3);
  for (let k = 0; k < kinds; k++) {
    switch (Math.floor(r() * 16)) {
      case 0:
        m.userId = pick(ID_VARIANTS);
        break;
      case 1:
        m.anonymousId = pick(ID_VARIANTS);
        break;
      case 2:
        m.timestamp = pick(TIME_VARIANTS);
        break;
      case 3:
        m.timestamp = undefined;
        m.originalTimestamp = pick(TIME_VARIANTS);
        m.sentAt = pick(TIME_VARIANTS);
        break;
      case 4:
        m.properties = {
          ...(m.properties as object),
          [pick(['revenue', 'total', 'value'])]: pick(REVENUE_VARIANTS),
        };
        break;
      case 5:
        m.properties = pick([[], 'text', null, 3, { nested: { deep: [1, { a: 'b' }] } }, {}]);
        break;
      case 6:
        m.type = pick(['track', 'identify', 'page', 'screen', 'group', 'alias', 'Track', 'other', 7, null]);
        break;
      case 7:
        m.event = pick(['Order Completed', '', '   ', '\t', 'Ünïcode Event', 'a\u001fb', 7, null, undefined]);
        break;
      case 8:
        m.name = pick(['Pricing', '', 'x'.repeat(50), 5, null]);
        break;
      case 9:
        m.messageId = pick(['', 17, null, undefined, 'dup-1', 'id\u0000x']);
        break;
      case 10:
        m.groupId = pick(ID_VARIANTS);
        break;
      case 11:
        m.previousId = pick(ID_VARIANTS);
        break;
      case 12:
        m.traits = pick([{ email: 'a@b.c', plan: 'pro' }, [], 'x', null, { nested: { x: 1 } }]);
        break;
      case 13:
        m.context = pick([
          { consent: { categoryPreferences: { email: true, ads: false } } },
          { ip: '1.2.3.4', note: 'line\u2028sep \ud83d\ude00' },
          'ctx',
          null,
          { lone: '\udc00' },
        ]);
        break;
      case 14:
        // Sizes around the fast path's bound and the hard limit.
        m.properties = { blob: 'x'.repeat(pick([1000, 5400, 6000, 20_000, 40_000])) };
        break;
      default:
        m[pick(['version', 'channel', '_metadata', 'extra'])] = pick([
          2,
          'server',
          { nodeVersion: '20' },
          'y'.repeat(9000),
        ]);
    }
  }
  return m;
}

async function dump(wh: Warehouse) {
  const events = await wh.query(
    `SELECT message_id, type, event, name, user_id, anonymous_id, group_id, previous_id,
            epoch_us(ts) AS ts, epoch_us(original_timestamp) AS ot, epoch_us(sent_at) AS sa, epoch_us(received_at) AS ra,
            revenue, CAST(properties AS VARCHAR) AS properties, CAST(traits AS VARCHAR) AS traits,
            CAST(context AS VARCHAR) AS context, CAST(integrations AS VARCHAR) AS integrations
     FROM events ORDER BY message_id`,
  );
  // The engine may re-serialize JSON differently from JSON.stringify (number forms, escapes): compare values.
  for (const e of events) {
    for (const k of ['properties', 'traits', 'context', 'integrations']) {
      if (typeof e[k] === 'string') e[k] = JSON.parse(e[k] as string);
    }
  }
  const rejected = await wh.query('SELECT row_no, message_id, problems FROM rejected_events ORDER BY row_no');
  const identities = await wh.query(
    'SELECT identifier, person_id, is_user FROM identities ORDER BY identifier',
  );
  const traits = await wh.query(
    'SELECT identifier, key, CAST(value AS VARCHAR) AS value FROM identity_traits ORDER BY identifier, key',
  );
  const consent = await wh.query('SELECT identifier, purpose, granted FROM identity_consent ORDER BY 1, 2');
  return { events, rejected, identities, traits, consent };
}

describe('the collector fast path stores what the SQL checks store', () => {
  test('ISO instants are read to the microsecond, with offsets, and odd forms are left to SQL', () => {
    assert.equal(isoInstantMicros('1970-01-01T00:00:01Z'), 1_000_000);
    assert.equal(isoInstantMicros('1970-01-01T00:00:00.000250Z'), 250);
    assert.equal(isoInstantMicros('2026-01-01T05:30:00+05:30'), Date.UTC(2026, 0, 1) * 1000);
    assert.equal(isoInstantMicros('2026-01-01T00:00:00-01:00'), Date.UTC(2026, 0, 1, 1) * 1000);
    const r = mulberry32(9);
    for (let i = 0; i < 5000; i++) {
      const ms = Math.floor(Date.UTC(1900, 0, 1) + r() * (Date.UTC(2999, 11, 31) - Date.UTC(1900, 0, 1)));
      const iso = new Date(ms).toISOString();
      assert.equal(isoInstantMicros(iso), ms * 1000, iso);
      const offset = Math.floor(r() * 28 - 14) * 60 + (r() < 0.2 ? 30 : 0);
      const local = new Date(ms + offset * 60_000).toISOString().slice(0, 19);
      const sign = offset < 0 ? '-' : '+';
      const abs = Math.abs(offset);
      const withOffset = `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
      assert.equal(isoInstantMicros(withOffset), Math.floor(ms / 1000) * 1_000_000, withOffset);
    }
    for (const odd of [
      '2026-02-29T00:00:00Z',
      '2026-01-01 00:00:00Z',
      '2026-01-01T00:00:00',
      '1800-01-01T00:00:00Z',
    ])
      assert.equal(isoInstantMicros(odd), undefined, odd);
  });

  test('realistic events all take the fast path', () => {
    const at = new Date('2026-03-02T00:00:00Z');
    let n = 0;
    for (const unit of generateEvents({ people: 60, days: 30, seed: 3, profile: 'saas' })) {
      for (const e of unit.events) {
        assert.ok('record' in prepareMessage(e, at), `slow path for ${JSON.stringify(e).slice(0, 200)}`);
        n++;
      }
    }
    assert.ok(n > 500);
  });

  for (const seed of [1, 2, 3]) {
    test(`seed ${seed}: generated and mutated messages give identical databases either way`, async () => {
      const r = mulberry32(seed);
      const base: Record<string, unknown>[] = [];
      for (const unit of generateEvents({
        people: 80,
        days: 40,
        seed,
        profile: seed === 2 ? 'saas' : 'ecommerce',
      })) {
        for (const e of unit.events) base.push(e as unknown as Record<string, unknown>);
      }
      const messages: unknown[] = [];
      for (const [i, e] of base.entries()) {
        messages.push(r() < 0.6 ? e : mutate(e, r));
        if (i % 50 === 0) messages.push(pick3(r));
      }
      const receivedAt = new Date('2026-03-05T12:00:00.123Z');
      const fast = await openWarehouse({ path: ':memory:' });
      const sql = await openWarehouse({ path: ':memory:' });
      try {
        // Two batches each, so the second meets stored ids (duplicates) and existing identities.
        const half = Math.floor(messages.length / 2);
        const parts = [messages.slice(0, half), messages.slice(half)];
        let fastRecords = 0;
        for (const part of parts) {
          fastRecords += part.filter((m) => 'record' in prepareMessage(m, receivedAt)).length;
          const a = await ingestMessages(fast, part, { source: 'test', receivedAt });
          const b = await ingestJsonTexts(
            sql,
            part.map((m) => JSON.stringify(m) ?? 'null'),
            { source: 'test', receivedAt },
          );
          assert.deepEqual(a, b, 'the same counts');
        }
        assert.ok(
          fastRecords > messages.length / 2,
          `fast path used for ${fastRecords} of ${messages.length}`,
        );
        assert.ok(fastRecords < messages.length, 'and the SQL path for the rest');
        const [da, db] = [await dump(fast), await dump(sql)];
        assert.ok(da.rejected.length > 0, 'some mutations are invalid');
        for (const k of ['events', 'rejected', 'identities', 'traits', 'consent'] as const) {
          assert.deepEqual(da[k], db[k], `${k} differ (seed ${seed})`);
        }
      } finally {
        await fast.close();
        await sql.close();
      }
    });
  }
});

/** Messages that are not objects at all, or nearly empty. */
function pick3(r: () => number): unknown {
  const xs: unknown[] = [null, 3, 'text', [], {}, { type: 'track' }, { userId: 'only-id' }];
  return xs[Math.floor(r() * xs.length)];
}
