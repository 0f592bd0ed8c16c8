import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runActivation } from '../../src/activate/activate-run.js';
import { parsePlaybook } from '../../src/activate/playbook.js';
import { openWarehouse } from '../../src/engine/open.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { deletePerson, suppressPerson } from '../../src/govern/privacy.js';
import { DecideSnapshot } from '../../src/personalize/decide-snapshot.js';
import { SegmentDefinition } from '../../src/segment/definition.js';
import { createRng } from '../../src/shared/seeded-random.js';
import { at, BUYERS, events, HOUR, identify, refresh, track } from '../activate/helpers.js';

const pb = parsePlaybook(`
consent: { default: deny }
caps: { global: [{ max: 1, per: 2d }] }
quiet_hours: { start: "22:00", end: "07:00" }
plays:
  - { name: vip, segment: big-spenders, offer: vip, channel: email, purpose: marketing, priority: 3, holdout: 0.3 }
  - { name: thanks, segment: recent-buyers, offer: thanks, channel: email, purpose: marketing, priority: 2, re_entry: once }
  - { name: survey, segment: recent-buyers, offer: survey, channel: in_app, purpose: product, priority: 1 }
`);
const bigSpenders = SegmentDefinition.parse({
  name: 'big-spenders',
  where: { performed: { event: 'Order Completed', atLeast: 2, within: '1d' } },
});

/** Every identifier the warehouse knows, plus ones it does not: a catch-up must answer each as a full load does. */
async function assertSameDecisions(wh: Warehouse, caught: DecideSnapshot, now: Date, round: number) {
  const fresh = await DecideSnapshot.load(wh, pb, now);
  const ids = (await wh.query<{ identifier: string }>('SELECT identifier FROM identities ORDER BY 1')).map(
    (r) => r.identifier,
  );
  for (const id of [...ids, 'nobody', 'gone-0']) {
    const a = await caught.personOf(wh, id);
    const b = await fresh.personOf(wh, id);
    assert.equal(a, b, `round ${round}: the person of ${id}`);
    if (a && b) {
      assert.deepEqual(caught.decide(pb, a, now), fresh.decide(pb, b, now), `round ${round}: ${id}`);
    }
  }
}

test('a snapshot caught up with the people who changed decides as a full load does, round after round', async () => {
  const wh = await openWarehouse({ path: ':memory:' });
  try {
    const rng = createRng(8, 0);
    const messages: object[] = [];
    const known: string[] = [];
    const person = (i: number) => `u${i}`;
    for (let i = 0; i < 60; i++) {
      known.push(person(i));
      messages.push(identify(person(i), at(0), { timezone: rng.chance(0.5) ? 'Asia/Tokyo' : 'UTC' }));
    }
    await events(wh, messages);
    let now = at(HOUR);
    await refresh(wh, now, [BUYERS, bigSpenders]);
    const snapshot = await DecideSnapshot.load(wh, pb, now);
    let anon = 0;
    for (let round = 1; round <= 8; round++) {
      const base = round * 20 * HOUR;
      const batch: object[] = [];
      for (let n = rng.int(10, 30); n > 0; n--) {
        const when = at(base + rng.int(0, 5) * HOUR);
        const roll = rng.int(0, 11);
        const who = rng.chance(0.2) ? person(known.length) : rng.pick(known);
        if (!known.includes(who)) known.push(who);
        if (roll < 5) batch.push(track(who, 'Order Completed', when, { properties: { revenue: 10 } }));
        else if (roll < 7) {
          const consent = { marketing: rng.chance(0.6), product: rng.chance(0.7) };
          if (rng.chance(0.5))
            batch.push(identify(who, when, { timezone: rng.chance(0.5) ? 'Asia/Tokyo' : 'UTC' }, consent));
          // Consent alone, on a track event (a consent banner's): no traits, no new identifier.
          else
            batch.push(
              track(who, 'Consent Updated', when, { context: { consent: { categoryPreferences: consent } } }),
            );
        } else if (roll < 9) {
          // An anonymous buyer, linked to a known person in the next round (a merge of a person with events).
          const a = `anon-${anon++}`;
          batch.push({ ...track('', 'Order Completed', when), userId: undefined, anonymousId: a });
          batch.push({ ...identify(rng.pick(known), at(base + 5 * HOUR)), anonymousId: a });
        } else if (roll < 10) {
          // A device seen before comes back signed in as someone else: its person may be merged away, canonical id
          // and all, though only the device's id is in the new events.
          if (anon > 0)
            batch.push({ ...identify(rng.pick(known), when), anonymousId: `anon-${rng.int(0, anon)}` });
        } else {
          // Two known people found to be one.
          const from = rng.pick(known);
          const into = rng.pick(known);
          if (from !== into)
            batch.push({
              type: 'alias',
              userId: into,
              previousId: from,
              timestamp: when.toISOString(),
              messageId: `al${round}-${n}`,
            });
        }
      }
      await events(wh, batch);
      now = at(base + 6 * HOUR);
      // The outbox moves earlier deliveries on: sent (caps count them), blocked (no longer "got").
      await wh.run(
        `UPDATE deliveries SET status = 'sent', sent_at = ? WHERE status = 'pending' AND id % 3 = ?`,
        [now, round % 3],
      );
      await wh.run(`UPDATE deliveries SET status = 'blocked' WHERE status = 'pending' AND id % 5 = ?`, [
        round % 5,
      ]);
      await refresh(wh, now, [BUYERS, bigSpenders]);
      // Plays reach some members (as the outbox would queue them); earlier ones move on below, in later rounds.
      await wh.run(
        `INSERT INTO deliveries (id, idempotency_key, play, person_id, trigger, occurred_at, channel, status, attempts, created_at)
         SELECT (SELECT coalesce(max(id), 0) FROM deliveries) + row_number() OVER (ORDER BY person_id, segment),
                'r${round}:' || segment || ':' || person_id, CASE segment WHEN 'big-spenders' THEN 'vip' ELSE 'thanks' END,
                person_id, 'enter', ?, 'email', 'pending', 0, ?
         FROM segment_memberships WHERE exited_at IS NULL AND hash(person_id || '${round}') % 3 = 0`,
        [now, now],
      );
      await runActivation(wh, pb, { asOf: now, destinations: new Map() });
      if (round % 3 === 0) await suppressPerson(wh, rng.pick(known), 'complaint', { actor: 'test' });
      assert.equal(await snapshot.catchUp(wh, pb, now), true, `round ${round} catches up`);
      await assertSameDecisions(wh, snapshot, now, round);
    }
    // Nothing changed: a catch-up reads nothing and still agrees.
    assert.equal(await snapshot.catchUp(wh, pb, now), true);
    await assertSameDecisions(wh, snapshot, now, 9);
    // An erasure leaves no trace to catch up from: the snapshot asks for a full load.
    await deletePerson(wh, known[0]!, { actor: 'test' });
    assert.equal(await snapshot.catchUp(wh, pb, now), false);
  } finally {
    await wh.close();
  }
});
