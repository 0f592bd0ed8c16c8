import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { findPeople } from '../../src/govern/find-people.js';
import { deletePerson, exportPerson, type PersonExport } from '../../src/govern/privacy.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { ENGINES, type TestEngine } from '../helpers/engines.js';
import { TABLE_CATALOG } from '../helpers/table-catalog.js';

const CANARIES = ['canary-user-7731', 'canary-anon-5519', 'canary-mail-4242@example.test'];
const ACTOR = { actor: 'cli:test' };

/** The tables (of every kind segflow stores) whose rows mention one of the canaries, read back through SQL. */
async function tablesMentioning(wh: Warehouse, engine: TestEngine): Promise<string[]> {
  const { schema, tables: listed, columns: columnsOf, text } = TABLE_CATALOG[engine.name];
  const tables = await wh.query<{ table_name: string }>(listed, [schema]);
  const found: string[] = [];
  for (const { table_name: t } of tables) {
    const columns = await wh.query<{ column_name: string }>(columnsOf, [schema, t]);
    const row = columns.map((c) => `coalesce(${text(c.column_name)}, '')`).join(" || '|' || ");
    const [hit] = await wh.query<{ n: number }>(
      `SELECT count(*) AS n FROM "${t}" WHERE ${CANARIES.map(() => `${row} LIKE ?`).join(' OR ')}`,
      CANARIES.map((c) => `%${c}%`),
    );
    if (Number(hit!.n) > 0) found.push(t);
  }
  return found.sort();
}

/**
 * Privacy requests on each engine: finding a person by an identifying trait (normalised), exporting everything held
 * about them, and deleting them by that trait — every row that mentions any of their identifiers, in every table,
 * gone when read back, someone else untouched, and their late events dropped by the tombstones. On ClickHouse the
 * deletes are lightweight DELETEs (and a mutation for the audit log's pseudonymisation): hidden from every read at
 * once; when the bytes leave the disk is in docs/scaling.md.
 */
for (const engine of ENGINES) {
  describe(`${engine.name}: privacy requests`, () => {
    let wh: Warehouse;
    before(async () => {
      wh = await engine.open();
      // The anonymous visit is stored first, as a person of its own: the identify then merges that person away
      // (an override, and a row of person_merges, both naming the canary ids).
      const visit = await ingestMessages(
        wh,
        [
          {
            type: 'track',
            event: 'Product Viewed',
            anonymousId: 'canary-anon-5519',
            timestamp: '2026-03-01T10:00:00Z',
            messageId: 'c1',
          },
        ],
        { source: 'collector' },
      );
      const result = await ingestMessages(
        wh,
        [
          {
            type: 'identify',
            userId: 'canary-user-7731',
            anonymousId: 'canary-anon-5519',
            traits: { email: 'Canary-Mail-4242@example.test', first_name: 'Canarina' },
            context: { consent: { categoryPreferences: { webhook: true } } },
            timestamp: '2026-03-01T11:00:00Z',
            messageId: 'c2',
          },
          {
            type: 'track',
            event: 'Order Completed',
            userId: 'canary-user-7731',
            properties: { revenue: 42 },
            timestamp: '2026-03-01T12:00:00Z',
            messageId: 'c3',
          },
          {
            type: 'group',
            userId: 'canary-user-7731',
            groupId: 'acme',
            traits: { name: 'Acme' },
            timestamp: '2026-03-01T12:00:00Z',
            messageId: 'c4',
          },
          // No event name: rejected, and its raw text names the person.
          { type: 'track', userId: 'canary-user-7731', timestamp: '2026-03-01T12:00:00Z', messageId: 'c5' },
          {
            type: 'identify',
            userId: 'someone-else',
            traits: { email: 'other@example.test' },
            timestamp: '2026-03-01T11:00:00Z',
            messageId: 'o1',
          },
          {
            type: 'track',
            event: 'Order Completed',
            userId: 'someone-else',
            properties: { revenue: 10 },
            timestamp: '2026-03-01T12:00:00Z',
            messageId: 'o2',
          },
        ],
        { source: 'collector' },
      );
      assert.deepEqual([visit.inserted + result.inserted, result.rejected], [6, 1]);
      const [merged] = await wh.query<{ n: number }>('SELECT count(*) AS n FROM person_merges');
      assert.equal(Number(merged!.n), 1, 'the identify merged the anonymous person away');
    });
    after(async () => {
      await wh.close();
    });

    test('finds the person by email, however it is written, with every identifier', async () => {
      const people = await findPeople(wh, {
        identifier: '  CANARY-mail-4242@Example.test ',
        identifyingTraits: ['email'],
      });
      assert.deepEqual(people, [
        {
          personId: 'canary-user-7731',
          matchedBy: ['trait:email'],
          identifiers: ['canary-anon-5519', 'canary-user-7731'],
        },
      ]);
    });

    test('exports what is held about them', async () => {
      const exported = (await exportPerson(wh, 'canary-anon-5519', ACTOR)) as PersonExport;
      assert.equal(exported.person_id, 'canary-user-7731');
      assert.deepEqual((exported.events as { message_id: string }[]).map((e) => e.message_id).sort(), [
        'c1',
        'c2',
        'c3',
        'c4',
      ]);
    });

    test('deletes them by email from every table; someone else stays; late events are dropped', async () => {
      const before = await tablesMentioning(wh, engine);
      for (const t of ['events', 'identities', 'identity_traits', 'identity_edges', 'rejected_events'])
        assert.ok(
          before.includes(t),
          `the canary is in ${t} before the delete (found in ${before.join(', ')})`,
        );

      const result = await deletePerson(wh, 'canary-mail-4242@example.test', ACTOR, {
        identifyingTraits: ['email'],
      });
      assert.deepEqual([result.persons, result.identifiers], [1, 2]);
      assert.equal(result.rows.events, 4);
      assert.equal(result.rows.rejected_events, 1);
      assert.deepEqual(await tablesMentioning(wh, engine), [], 'no row mentions the person after the delete');
      assert.deepEqual(await findPeople(wh, { identifier: 'canary-user-7731' }), []);

      const others = await wh.query<{ message_id: string }>(
        `SELECT message_id FROM events WHERE user_id = 'someone-else' ORDER BY message_id`,
      );
      assert.deepEqual(
        others.map((r) => r.message_id),
        ['o1', 'o2'],
      );
      const late = await ingestMessages(
        wh,
        [
          {
            type: 'track',
            event: 'Product Viewed',
            anonymousId: 'canary-anon-5519',
            timestamp: '2026-03-02T10:00:00Z',
            messageId: 'late-1',
          },
        ],
        { source: 'collector' },
      );
      assert.deepEqual([late.erased, late.inserted], [1, 0]);
      assert.deepEqual(await tablesMentioning(wh, engine), [], 'still none after a late event');
    });
  });
}
