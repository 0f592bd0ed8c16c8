import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { importFile } from '../../src/instrument/import/import-file.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { tempDir } from '../helpers/temp.js';

async function problemsOf(wh: Warehouse): Promise<Map<number, string[]>> {
  const rows = await wh.query<{ row_no: number; problems: string }>(
    'SELECT row_no, problems FROM rejected_events ORDER BY row_no',
  );
  return new Map(rows.map((r) => [r.row_no, JSON.parse(r.problems) as string[]]));
}

const good = (i: number) => ({
  type: 'track',
  event: 'Product Viewed',
  userId: `u${i}`,
  messageId: `good-${i}`,
  timestamp: '2026-02-01T10:00:00Z',
  properties: { product_id: `p${i}` },
});

/** Each bad row with the JSON path its problem must name. */
const BAD_ROWS: { label: string; line: string; path: string; says: RegExp }[] = [
  {
    label: 'missing both ids',
    line: JSON.stringify({ type: 'track', event: 'X', messageId: 'b1' }),
    path: '$',
    says: /neither userId nor anonymousId/,
  },
  {
    label: 'unknown type',
    line: JSON.stringify({ type: 'trak', userId: 'u', messageId: 'b2' }),
    path: '$.type',
    says: /'trak' is not a message type/,
  },
  { label: 'non-JSON line', line: '{"type": "track", "userId": ', path: '$', says: /not valid JSON/ },
  {
    label: 'unparseable timestamp',
    line: JSON.stringify({ type: 'track', event: 'X', userId: 'u', timestamp: 'last tuesday' }),
    path: '$.timestamp',
    says: /'last tuesday' is not an ISO-8601 date-time/,
  },
  {
    label: 'oversized properties',
    line: JSON.stringify({
      type: 'track',
      event: 'X',
      userId: 'u',
      properties: { blob: 'x'.repeat(40_000) },
    }),
    path: '$.properties',
    says: /bytes is over the limit of 32768 bytes/,
  },
  {
    label: 'track without event',
    line: JSON.stringify({ type: 'track', userId: 'u' }),
    path: '$.event',
    says: /needs the event name/,
  },
  {
    label: 'userId of the wrong type',
    line: JSON.stringify({ type: 'identify', userId: { id: 1 } }),
    path: '$.userId',
    says: /must be a string \(got object\)/,
  },
  {
    label: 'placeholder id',
    line: JSON.stringify({ type: 'identify', userId: 'undefined' }),
    path: '$.userId',
    says: /'undefined' is a placeholder/,
  },
  {
    label: 'alias without previousId',
    line: JSON.stringify({ type: 'alias', userId: 'u' }),
    path: '$.previousId',
    says: /needs previousId/,
  },
  {
    label: 'group without groupId',
    line: JSON.stringify({ type: 'group', userId: 'u' }),
    path: '$.groupId',
    says: /needs groupId/,
  },
  {
    label: 'properties not an object',
    line: JSON.stringify({ type: 'track', event: 'X', userId: 'u', properties: [1, 2] }),
    path: '$.properties',
    says: /must be an object \(got array\)/,
  },
  { label: 'a JSON array, not an object', line: '[1, 2, 3]', path: '$', says: /not a JSON object/ },
];

describe('validation of bad input', () => {
  test('each bad row in an NDJSON file gets a located problem and every valid row still lands', async () => {
    const dir = tempDir();
    const file = join(dir, 'mixed.ndjson');
    // Valid rows before, between and after the bad ones: none may be lost.
    const lines: string[] = [];
    const expected = new Map<number, (typeof BAD_ROWS)[number]>();
    let goodCount = 0;
    for (const bad of BAD_ROWS) {
      lines.push(JSON.stringify(good(goodCount++)));
      lines.push(bad.line);
      expected.set(lines.length, bad);
    }
    lines.push(JSON.stringify(good(goodCount++)));
    writeFileSync(file, `${lines.join('\n')}\n`);

    const wh = await openWarehouse({ path: ':memory:' });
    const rejectsPath = join(dir, 'rejects.ndjson');
    const summary = await importFile(wh, { path: file, rejectsPath });
    assert.equal(summary.received, lines.length);
    assert.equal(summary.inserted, goodCount);
    assert.equal(summary.rejected, BAD_ROWS.length);
    assert.equal(summary.reader, 'lines', 'a file with non-JSON lines is read line by line');

    const problems = await problemsOf(wh);
    for (const [line, bad] of expected) {
      const got = problems.get(line);
      assert.ok(got, `${bad.label}: line ${line} should be rejected`);
      assert.ok(
        got.some((p) => p.startsWith(`${bad.path}:`) && bad.says.test(p)),
        `${bad.label}: expected a problem at ${bad.path} matching ${bad.says}, got ${JSON.stringify(got)}`,
      );
    }
    const stored = await wh.query<{ message_id: string }>(
      'SELECT message_id FROM events ORDER BY message_id',
    );
    assert.deepEqual(
      stored.map((r) => r.message_id),
      Array.from({ length: goodCount }, (_, i) => `good-${i}`).sort(),
    );

    // The rejects file has one line per rejected row, with its line number, problems and the original text.
    const rejectLines = readFileSync(rejectsPath, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      rejectLines.map((r) => r.line),
      [...expected.keys()],
    );
    assert.equal(rejectLines[2].raw, BAD_ROWS[2]!.line);
    await wh.close();
  });

  test('every problem of one event is reported, not just the first', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    const counts = await ingestMessages(
      wh,
      [{ type: 'track', timestamp: 'soon', sentAt: 12, properties: 'x', context: [] }],
      { source: 'test' },
    );
    assert.equal(counts.rejected, 1);
    const [problems] = [...(await problemsOf(wh)).values()];
    const paths = problems!.map((p) => p.split(':')[0]).sort();
    assert.deepEqual(paths, ['$', '$.context', '$.event', '$.properties', '$.sentAt', '$.timestamp'].sort());
    await wh.close();
  });
});

describe('event model', () => {
  test('clock skew: without a timestamp, time = receivedAt − (sentAt − originalTimestamp)', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    await ingestMessages(
      wh,
      [
        // The device clock is 2 hours behind: it stamped 10:00 and sent at 10:00:05 by its clock; the server got
        // it at 12:00:10, so the event happened at 12:00:05 server time.
        {
          type: 'track',
          event: 'A',
          userId: 'u',
          messageId: 'skew',
          originalTimestamp: '2026-01-01T10:00:00Z',
          sentAt: '2026-01-01T10:00:05Z',
          receivedAt: '2026-01-01T12:00:10Z',
        },
        // An explicit timestamp wins.
        {
          type: 'track',
          event: 'B',
          userId: 'u',
          messageId: 'explicit',
          timestamp: '2026-01-01T08:00:00+02:00',
          originalTimestamp: '2026-01-01T10:00:00Z',
          sentAt: '2026-01-01T10:00:05Z',
        },
        // No timestamps at all: the time the batch was received.
        { type: 'track', event: 'C', userId: 'u', messageId: 'none' },
      ],
      { source: 'test', receivedAt: new Date('2026-05-05T05:05:05Z') },
    );
    const rows = await wh.query<{ message_id: string; ts: Date }>(
      'SELECT message_id, ts FROM events ORDER BY message_id',
    );
    assert.deepEqual(Object.fromEntries(rows.map((r) => [r.message_id, r.ts.toISOString()])), {
      explicit: '2026-01-01T06:00:00.000Z',
      none: '2026-05-05T05:05:05.000Z',
      skew: '2026-01-01T12:00:05.000Z',
    });
    await wh.close();
  });

  test('revenue comes from properties.revenue, else total, else value, when numeric', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    const cases: [string, Record<string, unknown>, number | null][] = [
      ['r1', { revenue: 10, total: 20, value: 30 }, 10],
      ['r2', { total: 20, value: 30 }, 20],
      ['r3', { value: 30 }, 30],
      ['r4', { revenue: 'abc', total: 25.5 }, 25.5],
      ['r5', { revenue: '12.50' }, 12.5],
      ['r6', { price: 99 }, null],
      ['r7', { revenue: { amount: 5 } }, null],
    ];
    await ingestMessages(
      wh,
      cases.map(([id, properties]) => ({
        type: 'track',
        event: 'Order Completed',
        userId: 'u',
        messageId: id,
        properties,
        timestamp: '2026-01-01T00:00:00Z',
      })),
      { source: 'test' },
    );
    const rows = await wh.query<{ message_id: string; revenue: number | null }>(
      'SELECT message_id, revenue FROM events ORDER BY message_id',
    );
    assert.deepEqual(
      rows.map((r) => [r.message_id, r.revenue]),
      cases.map(([id, , revenue]) => [id, revenue]),
    );
    await wh.close();
  });

  test('a repeated messageId is a no-op and is counted', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    const e = (event: string) => ({
      type: 'track',
      event,
      userId: 'u',
      messageId: 'same',
      timestamp: '2026-01-01T00:00:00Z',
    });
    assert.deepEqual(await ingestMessages(wh, [e('first'), e('second')], { source: 'test' }), {
      received: 2,
      inserted: 1,
      duplicates: 1,
      rejected: 0,
    });
    assert.deepEqual(await ingestMessages(wh, [e('third')], { source: 'test' }), {
      received: 1,
      inserted: 0,
      duplicates: 1,
      rejected: 0,
    });
    assert.deepEqual(await wh.query('SELECT event FROM events'), [{ event: 'first' }]);
    await wh.close();
  });

  test('a resent message is a duplicate within a day of its time; a messageId reused a day away is a new event', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    const sent = (messageId: string, timestamp: string, sentAt: string, receivedAt: string) => ({
      type: 'track',
      event: 'Order Completed',
      userId: 'u',
      messageId,
      timestamp,
      sentAt,
      receivedAt,
    });
    // The first send: the clock-skew correction puts it at 10:00:00 (received − (sentAt − timestamp)).
    const first = sent('m1', '2026-03-01T10:00:00Z', '2026-03-01T10:00:05Z', '2026-03-01T10:00:05Z');
    assert.equal((await ingestMessages(wh, [first], { source: 'test' })).inserted, 1);
    // A retry of the same message an hour later: a new sentAt and a slower trip move its corrected time by 3 s.
    const retry = sent('m1', '2026-03-01T10:00:00Z', '2026-03-01T11:00:00Z', '2026-03-01T11:00:03Z');
    // Among many other events, days earlier and later, so the batch's own window is wide.
    const others = [-3, 3].map((days) => ({
      ...sent(`other${days}`, '', '', ''),
      timestamp: new Date(Date.parse('2026-03-01T10:00:00Z') + days * 86_400_000).toISOString(),
      sentAt: undefined,
      receivedAt: undefined,
    }));
    assert.deepEqual(await ingestMessages(wh, [retry, ...others], { source: 'test' }), {
      received: 3,
      inserted: 2,
      duplicates: 1,
      rejected: 0,
    });
    // The same messageId for an event two days later is another event (see DUPLICATE_WINDOW_MS).
    const reused = sent('m1', '2026-03-03T10:00:00Z', '2026-03-03T10:00:00Z', '2026-03-03T10:00:00Z');
    assert.equal((await ingestMessages(wh, [reused], { source: 'test' })).inserted, 1);
    const rows = await wh.query<{ ts: Date }>(`SELECT ts FROM events WHERE message_id = 'm1' ORDER BY ts`);
    assert.deepEqual(
      rows.map((r) => r.ts.toISOString()),
      ['2026-03-01T10:00:00.000Z', '2026-03-03T10:00:00.000Z'],
    );
    await wh.close();
  });

  test('page and screen keep their name; identify and group keep traits; consent is read per purpose', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    await ingestMessages(
      wh,
      [
        {
          type: 'page',
          name: 'Pricing',
          anonymousId: 'a',
          messageId: 'p',
          timestamp: '2026-01-01T00:00:00Z',
          properties: { path: '/pricing' },
        },
        { type: 'screen', name: 'Home', anonymousId: 'a', messageId: 's', timestamp: '2026-01-01T00:01:00Z' },
        {
          type: 'identify',
          userId: 'u',
          anonymousId: 'a',
          messageId: 'i1',
          timestamp: '2026-01-02T00:00:00Z',
          traits: { plan: 'free', email: 'old@x.io' },
          context: { consent: { categoryPreferences: { Advertising: true, Analytics: true } } },
        },
        // Older by event time although it arrives later: must not overwrite the newer plan.
        {
          type: 'identify',
          userId: 'u',
          messageId: 'i0',
          timestamp: '2026-01-01T00:00:00Z',
          traits: { plan: 'trial', company: 'Acme' },
        },
        {
          type: 'identify',
          userId: 'u',
          messageId: 'i2',
          timestamp: '2026-01-03T00:00:00Z',
          traits: { email: 'new@x.io' },
          context: { consent: { categoryPreferences: { Advertising: false } } },
        },
      ],
      { source: 'test' },
    );
    const names = await wh.query('SELECT type, name FROM events WHERE type IN (?, ?) ORDER BY type', [
      'page',
      'screen',
    ]);
    assert.deepEqual(names, [
      { type: 'page', name: 'Pricing' },
      { type: 'screen', name: 'Home' },
    ]);
    const [person] = await wh.query<{ traits: string; consent: string; first_seen: Date; last_seen: Date }>(
      'SELECT * FROM persons',
    );
    assert.deepEqual(JSON.parse(person!.traits), { plan: 'free', email: 'new@x.io', company: 'Acme' });
    assert.deepEqual(JSON.parse(person!.consent), { Advertising: false, Analytics: true });
    assert.equal(person!.first_seen.toISOString(), '2026-01-01T00:00:00.000Z');
    assert.equal(person!.last_seen.toISOString(), '2026-01-03T00:00:00.000Z');
    await wh.close();
  });
});
