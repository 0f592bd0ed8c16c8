import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { identifiersOf, resolvePerson } from '../../src/instrument/identity-graph.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { mulberry32 } from '../helpers/random.js';

type Msg = Record<string, unknown>;
let seq = 0;
const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();
const page = (anonymousId: string, minute: number): Msg => ({
  type: 'page',
  name: 'Home',
  anonymousId,
  timestamp: at(minute),
  messageId: `m${seq++}`,
});
const track = (ids: Msg, event: string, minute: number): Msg => ({
  type: 'track',
  event,
  ...ids,
  timestamp: at(minute),
  messageId: `m${seq++}`,
});
const identify = (
  userId: string,
  anonymousId: string | undefined,
  minute: number,
  traits: Msg = {},
): Msg => ({
  type: 'identify',
  userId,
  ...(anonymousId ? { anonymousId } : {}),
  traits,
  timestamp: at(minute),
  messageId: `m${seq++}`,
});
const alias = (previousId: string, userId: string, minute: number): Msg => ({
  type: 'alias',
  previousId,
  userId,
  timestamp: at(minute),
  messageId: `m${seq++}`,
});
const group = (userId: string, groupId: string, minute: number, traits: Msg = {}): Msg => ({
  type: 'group',
  userId,
  groupId,
  traits,
  timestamp: at(minute),
  messageId: `m${seq++}`,
});

async function load(batches: Msg[][]): Promise<Warehouse> {
  const wh = await openWarehouse({ path: ':memory:' });
  for (const batch of batches) {
    const c = await ingestMessages(wh, batch, { source: 'test' });
    assert.equal(c.rejected, 0, 'scenario events are valid');
  }
  return wh;
}

/** identifier → person for every identifier. */
async function mapping(wh: Warehouse): Promise<Record<string, string>> {
  const rows = await wh.query<{ identifier: string; person_id: string }>(
    'SELECT identifier, person_id FROM identities ORDER BY identifier',
  );
  return Object.fromEntries(rows.map((r) => [r.identifier, r.person_id]));
}

/** Distinct persons that events resolve to. */
async function eventPersons(wh: Warehouse): Promise<string[]> {
  const rows = await wh.query<{ person_id: string }>(
    'SELECT DISTINCT person_id FROM person_events ORDER BY person_id',
  );
  return rows.map((r) => r.person_id);
}

describe('identity graph scenarios', () => {
  test('anonymous browsing, then identify: the earlier anonymous events belong to the user', async () => {
    const wh = await load([
      [page('anon-1', 0), track({ anonymousId: 'anon-1' }, 'Product Viewed', 1)],
      [identify('user-1', 'anon-1', 5, { email: 'a@x.io' })],
    ]);
    assert.deepEqual(await mapping(wh), { 'anon-1': 'user-1', 'user-1': 'user-1' });
    assert.deepEqual(await eventPersons(wh), ['user-1']);
    const [p] = await wh.query<{ event_count: number; identified: boolean }>(
      'SELECT event_count, identified FROM persons',
    );
    assert.deepEqual(p, { event_count: 3, identified: true });
    await wh.close();
  });

  test('alias chains merge transitively', async () => {
    // anon → u3 (identify), u3 → u2 (alias), u2 → u1 (alias), plus a separate chain later joined.
    const wh = await load([
      [identify('u3', 'anon-a', 0), alias('u3', 'u2', 1), alias('u2', 'u1', 2)],
      [track({ userId: 'u3' }, 'Order Completed', 3), track({ anonymousId: 'anon-a' }, 'Product Viewed', 4)],
    ]);
    const m = await mapping(wh);
    assert.deepEqual(new Set(Object.values(m)), new Set(['u1']));
    assert.deepEqual(Object.keys(m).sort(), ['anon-a', 'u1', 'u2', 'u3']);
    assert.deepEqual(await eventPersons(wh), ['u1']);
    await wh.close();
  });

  test('merges arriving in reverse order give the same persons', async () => {
    const events = [
      page('d1', 0),
      identify('zed', 'd1', 1),
      page('d2', 2),
      identify('amy', 'd2', 3),
      alias('zed', 'amy', 4),
      track({ userId: 'solo' }, 'Signed Up', 5),
    ];
    const forward = await load([events]);
    const oneByOneReversed = await load([...events].reverse().map((e) => [e]));
    const expected = { amy: 'amy', d1: 'amy', d2: 'amy', solo: 'solo', zed: 'amy' };
    assert.deepEqual(await mapping(forward), expected);
    assert.deepEqual(await mapping(oneByOneReversed), expected);
    await forward.close();
    await oneByOneReversed.close();
  });

  test('one person on two devices with two anonymous ids', async () => {
    const wh = await load([
      [page('phone', 0), page('laptop', 1), track({ anonymousId: 'phone' }, 'Product Added', 2)],
      [identify('maria', 'phone', 10)],
      [identify('maria', 'laptop', 20), track({ anonymousId: 'laptop' }, 'Order Completed', 21)],
    ]);
    assert.deepEqual(await mapping(wh), { laptop: 'maria', maria: 'maria', phone: 'maria' });
    assert.deepEqual(await identifiersOf(wh, 'phone'), [
      { identifier: 'maria', isUser: true },
      { identifier: 'laptop', isUser: false },
      { identifier: 'phone', isUser: false },
    ]);
    const [p] = await wh.query<{ event_count: number; identifier_count: number }>(
      'SELECT event_count, identifier_count FROM persons',
    );
    assert.deepEqual(p, { event_count: 6, identifier_count: 3 });
    await wh.close();
  });

  test('a group with several users, and account traits', async () => {
    const wh = await load([
      [
        group('ann', 'acme', 0, { name: 'Acme', plan: 'pro' }),
        group('bob', 'acme', 1),
        group('cy', 'acme', 2, { plan: 'enterprise', employees: 250 }),
        group('dee', 'globex', 3, { name: 'Globex' }),
        identify('bob', 'bob-anon', 4),
      ],
    ]);
    const accounts = await wh.query<{ group_id: string; member_count: number; traits: string }>(
      'SELECT * FROM accounts ORDER BY group_id',
    );
    assert.deepEqual(
      accounts.map((a) => [a.group_id, a.member_count, JSON.parse(a.traits)]),
      [
        ['acme', 3, { name: 'Acme', plan: 'enterprise', employees: 250 }],
        ['globex', 1, { name: 'Globex' }],
      ],
    );
    const members = await wh.query<{ person_id: string }>(
      "SELECT person_id FROM account_persons WHERE group_id = 'acme' ORDER BY person_id",
    );
    assert.deepEqual(
      members.map((m) => m.person_id),
      ['ann', 'bob', 'cy'],
    );
    assert.equal(await resolvePerson(wh, 'bob-anon'), 'bob');
    await wh.close();
  });

  test('an identified person keeps a userId as canonical id even when an anonymous id sorts first', async () => {
    const wh = await load([[identify('zzz-user', 'aaa-anon', 0)]]);
    assert.equal(await resolvePerson(wh, 'aaa-anon'), 'zzz-user');
    await wh.close();
  });
});

/** Reference: components by breadth-first search, canonical = smallest userId, else smallest anonymous id. */
function referencePersons(events: Msg[]): Record<string, string> {
  const adj = new Map<string, Set<string>>();
  const isUser = new Set<string>();
  const link = (a: string, b: string) => {
    if (!adj.has(a)) adj.set(a, new Set());
    if (!adj.has(b)) adj.set(b, new Set());
    adj.get(a)!.add(b);
    adj.get(b)!.add(a);
  };
  for (const e of events) {
    const ids = [e.userId, e.anonymousId, e.type === 'alias' ? e.previousId : undefined].filter(
      (x): x is string => typeof x === 'string',
    );
    for (const id of ids) if (!adj.has(id)) adj.set(id, new Set());
    if (typeof e.userId === 'string') isUser.add(e.userId);
    if (typeof e.userId === 'string' && typeof e.anonymousId === 'string') link(e.userId, e.anonymousId);
    if (e.type === 'alias') link(e.previousId as string, e.userId as string);
  }
  const out: Record<string, string> = {};
  const seen = new Set<string>();
  for (const start of adj.keys()) {
    if (seen.has(start)) continue;
    const comp: string[] = [];
    const queue = [start];
    seen.add(start);
    while (queue.length) {
      const x = queue.pop()!;
      comp.push(x);
      for (const y of adj.get(x)!) {
        if (!seen.has(y)) {
          seen.add(y);
          queue.push(y);
        }
      }
    }
    const users = comp.filter((c) => isUser.has(c)).sort();
    const canonical = users[0] ?? [...comp].sort()[0]!;
    for (const c of comp) out[c] = canonical;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

describe('identity graph: differential against a reference', () => {
  test('random graphs in random batch orders agree with breadth-first components', async () => {
    for (let trial = 0; trial < 6; trial++) {
      const rand = mulberry32(1000 + trial);
      const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
      const anons = Array.from({ length: 80 }, (_, i) => `anon-${i}`);
      const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
      const events: Msg[] = [];
      for (let i = 0; i < 150; i++) {
        const r = rand();
        if (r < 0.35) events.push(page(pick(anons), i));
        else if (r < 0.7) events.push(identify(pick(users), pick(anons), i));
        else if (r < 0.85) events.push(alias(rand() < 0.5 ? pick(users) : pick(anons), pick(users), i));
        else events.push(track({ userId: pick(users) }, 'Order Completed', i));
      }
      const expected = referencePersons(events);
      // Shuffle and cut into batches of random sizes: the result must not depend on arrival order.
      const shuffled = [...events].sort(() => rand() - 0.5);
      const batches: Msg[][] = [];
      for (let i = 0; i < shuffled.length; ) {
        const size = 1 + Math.floor(rand() * 30);
        batches.push(shuffled.slice(i, i + size));
        i += size;
      }
      const wh = await load(batches);
      assert.deepEqual(await mapping(wh), expected, `trial ${trial}`);
      // Every event resolves to exactly the person of its identifiers.
      const unresolved = await wh.query(
        'SELECT count(*) AS n FROM events e LEFT JOIN identities i ON i.identifier = coalesce(e.user_id, e.anonymous_id) WHERE i.person_id IS NULL',
      );
      assert.deepEqual(unresolved, [{ n: 0 }]);
      await wh.close();
    }
  });
});
