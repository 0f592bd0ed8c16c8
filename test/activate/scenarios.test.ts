import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { runActivation } from '../../src/activate/activate-run.js';
import { listDeliveries, retryDeliveries } from '../../src/activate/outbox.js';
import { parsePlaybook } from '../../src/activate/playbook.js';
import { openWarehouse } from '../../src/engine/open.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { decide } from '../../src/personalize/decide.js';
import {
  at,
  DAY,
  events,
  HOUR,
  identify,
  type Receiver,
  refresh,
  SECRET,
  startReceiver,
  track,
} from './helpers.js';

/** A playbook with one webhook destination and the given plays/caps/etc (YAML fragments). */
function playbook(receiver: Receiver, body: string, extra = 'consent: { default: allow }') {
  return parsePlaybook(`
timezone: UTC
${extra}
destinations:
  hook: { type: webhook, url: "${receiver.url}", secret: "${SECRET}" }
${body}
`);
}

describe('activation on a simulated clock', () => {
  let receiver: Receiver;
  let wh: Warehouse;
  before(async () => {
    receiver = await startReceiver();
  });
  after(() => receiver.close());
  beforeEach(async () => {
    wh = await openWarehouse({ path: ':memory:' });
    receiver.requests.length = 0;
    receiver.ids.clear();
    receiver.status = 200;
  });

  /** Start the plays' cursors, then buy at `buyAt`, refresh and activate at `runAt`. */
  async function enterAt(people: string[], when: Date) {
    await events(
      wh,
      people.map((p) => track(p, 'Order Completed', when, { properties: { revenue: 10 } })),
    );
    await refresh(wh, new Date(when.getTime() + HOUR));
  }

  test('entering the segment gives exactly one delivery, signed so an independent verifier accepts it', async () => {
    const pb = playbook(
      receiver,
      `plays:\n  - { name: thanks, segment: recent-buyers, offer: thank-you note, channel: webhook, destination: hook }`,
    );
    await runActivation(wh, pb, { asOf: at(0) });
    await enterAt(['ann'], at(HOUR));
    const first = await runActivation(wh, pb, { asOf: at(2 * HOUR) });
    assert.equal(first.outbox.sent, 1);
    await runActivation(wh, pb, { asOf: at(3 * HOUR) });
    await refresh(wh, at(4 * HOUR));
    await runActivation(wh, pb, { asOf: at(5 * HOUR) });
    assert.equal(receiver.requests.length, 1, 'one delivery, however often activation runs');
    const { headers, body } = receiver.requests[0]!;
    const verified = new Webhook(SECRET).verify(body, {
      'webhook-id': String(headers['webhook-id']),
      'webhook-timestamp': String(headers['webhook-timestamp']),
      'webhook-signature': String(headers['webhook-signature']),
    }) as { person: { id: string }; play: string; content: { offer: string } };
    assert.equal(verified.person.id, 'ann');
    assert.equal(verified.play, 'thanks');
    assert.equal(verified.content.offer, 'thank-you note');
    const wrong = `whsec_${Buffer.from('another secret of thirty-two b!!').toString('base64')}`;
    assert.throws(() =>
      new Webhook(wrong).verify(body, {
        'webhook-id': String(headers['webhook-id']),
        'webhook-timestamp': String(headers['webhook-timestamp']),
        'webhook-signature': String(headers['webhook-signature']),
      }),
    );
    const [exposure] = await wh.query<{ arm: string }>(`SELECT arm FROM exposures WHERE person_id = 'ann'`);
    assert.equal(exposure!.arm, 'treatment');
    await wh.close();
  });

  test('leaving and re-entering under each re-entry policy', async () => {
    const pb = playbook(
      receiver,
      `plays:
  - { name: p-once, segment: recent-buyers, offer: a, channel: webhook, destination: hook, re_entry: once }
  - { name: p-every, segment: recent-buyers, offer: b, channel: webhook, destination: hook, re_entry: every_time }
  - { name: p-month, segment: recent-buyers, offer: c, channel: webhook, destination: hook, re_entry: { at_most_once_per: 30d } }`,
    );
    await runActivation(wh, pb, { asOf: at(0) });
    // Enter (day 0), leave (day 8), re-enter (day 10), leave (day 18), re-enter (day 40).
    for (const [buy, check] of [
      [0, 1],
      [10, 11],
      [40, 41],
    ] as const) {
      await enterAt(['bo'], at(buy * DAY + HOUR));
      await runActivation(wh, pb, { asOf: at(check * DAY) });
      await refresh(wh, at((buy + 8) * DAY));
      await runActivation(wh, pb, { asOf: at((buy + 8) * DAY + HOUR) });
    }
    const sent = async (play: string) =>
      (await listDeliveries(wh, { play, status: 'sent' })).map((d) => d.occurred_at.getTime());
    assert.equal((await sent('p-once')).length, 1);
    assert.equal((await sent('p-every')).length, 3);
    assert.equal((await sent('p-month')).length, 2, 'day 0 and day 40; day 10 is within 30 days');
    const skipped = await listDeliveries(wh, { play: 'p-month', status: 'skipped' });
    assert.match(skipped[0]!.reason!, /at most once per 30d/);
    await wh.close();
  });

  test('a cap reached blocks with its reason', async () => {
    const pb = playbook(
      receiver,
      `caps:
  global: [{ max: 1, per: 7d }]
plays:
  - { name: first, segment: recent-buyers, offer: a, channel: webhook, destination: hook, priority: 2 }
  - { name: second, segment: recent-buyers, offer: b, channel: webhook, destination: hook, priority: 1 }`,
    );
    await runActivation(wh, pb, { asOf: at(0) });
    await enterAt(['cy'], at(HOUR));
    const r = await runActivation(wh, pb, { asOf: at(2 * HOUR) });
    assert.equal(r.outbox.sent, 1);
    assert.equal(r.outbox.blocked, 1);
    const blocked = await listDeliveries(wh, { status: 'blocked' });
    assert.equal(blocked.length, 1);
    assert.equal(blocked[0]!.reason, 'cap: at most 1 messages per 7d');
    assert.equal(receiver.requests.length, 1);
    await wh.close();
  });

  test('quiet hours in the person’s time zone defer the message, which is sent when they end', async () => {
    const pb = playbook(
      receiver,
      `quiet_hours: { start: "21:00", end: "08:00" }
plays:
  - { name: evening, segment: recent-buyers, offer: a, channel: webhook, destination: hook }`,
    );
    await runActivation(wh, pb, { asOf: at(0) });
    // 12:00 UTC + 11h = 23:00 UTC = 19:00 in New York (not quiet) but 01:00 in Berlin (quiet until 08:00 = 06:00 UTC).
    await events(wh, [
      identify('ny', at(0), { timezone: 'America/New_York' }),
      identify('de', at(0), { timezone: 'Europe/Berlin' }),
    ]);
    await enterAt(['ny', 'de'], at(10 * HOUR));
    const r = await runActivation(wh, pb, { asOf: at(11 * HOUR) });
    assert.equal(r.outbox.sent, 1);
    assert.equal(r.outbox.deferred, 1);
    const [deferred] = await listDeliveries(wh, { status: 'deferred' });
    assert.equal(deferred!.person_id, 'de');
    assert.equal(deferred!.next_attempt_at!.toISOString(), '2026-05-05T06:00:00.000Z');
    assert.equal(
      (await runActivation(wh, pb, { asOf: at(17 * HOUR) })).outbox.sent,
      0,
      'still quiet at 07:00 Berlin',
    );
    assert.equal(
      (await runActivation(wh, pb, { asOf: at(18 * HOUR) })).outbox.sent,
      1,
      'sent at 08:00 Berlin',
    );
    assert.deepEqual(
      receiver.requests.map((q) => (JSON.parse(q.body) as { person: { id: string } }).person.id),
      ['ny', 'de'],
    );
    await wh.close();
  });

  test('consent withdrawn (or never given) means nothing is sent, with the reason', async () => {
    const pb = playbook(
      receiver,
      `plays:\n  - { name: promo, segment: recent-buyers, offer: a, channel: email-ish, purpose: marketing, destination: hook }`,
      'consent: { default: deny }',
    );
    await runActivation(wh, pb, { asOf: at(0) });
    await events(wh, [
      identify('yes', at(0), {}, { marketing: true }),
      identify('no', at(0), {}, { marketing: true }),
      identify('no', at(HOUR / 2), {}, { marketing: false }),
    ]);
    await enterAt(['yes', 'no', 'never'], at(HOUR));
    await runActivation(wh, pb, { asOf: at(2 * HOUR) });
    const byPerson = new Map((await listDeliveries(wh, {})).map((d) => [d.person_id, d]));
    assert.equal(byPerson.get('yes')!.status, 'sent');
    assert.equal(byPerson.get('no')!.status, 'blocked');
    assert.equal(byPerson.get('no')!.reason, 'consent: marketing withdrawn');
    assert.equal(byPerson.get('never')!.reason, 'consent: never given for marketing');
    assert.equal(receiver.requests.length, 1);
    // Withdrawn after the decision but before the send (the receiver was down): the outbox checks again.
    await events(wh, [identify('late', at(0), {}, { marketing: true })]);
    await enterAt(['late'], at(3 * HOUR));
    receiver.status = 503;
    await runActivation(wh, pb, { asOf: at(4 * HOUR) });
    assert.equal((await listDeliveries(wh, { personId: 'late' }))[0]!.status, 'pending');
    receiver.status = 200;
    await events(wh, [identify('late', at(4.5 * HOUR), {}, { marketing: false })]);
    await runActivation(wh, pb, { asOf: at(2 * DAY) });
    const late = (await listDeliveries(wh, { personId: 'late' }))[0]!;
    assert.equal(late.status, 'blocked');
    assert.equal(late.reason, 'consent: marketing withdrawn');
    assert.equal(receiver.requests.length, 1);
    await wh.close();
  });

  test('a run with two plays and their sends reads consent once, and each play still gets its own answer', async () => {
    const pb = playbook(
      receiver,
      `plays:
  - { name: promo, segment: recent-buyers, offer: a, channel: webhook, purpose: marketing, destination: hook }
  - { name: survey, segment: recent-buyers, offer: b, channel: webhook, purpose: research, destination: hook }`,
      'consent: { default: deny }',
    );
    await runActivation(wh, pb, { asOf: at(0) });
    await events(wh, [
      identify('both', at(0), {}, { marketing: true, research: true }),
      identify('promo-only', at(0), {}, { marketing: true, research: false }),
    ]);
    await enterAt(['both', 'promo-only', 'never'], at(HOUR));
    // Every statement that reads the consent answers, counted on the warehouse the run is given (and on the handles
    // it hands out for exclusive runs and transactions).
    let consentReads = 0;
    const counting = (w: Warehouse): Warehouse =>
      new Proxy(w, {
        get(target, key) {
          if (key === 'query')
            return (sql: string, params?: never) => {
              if (sql.includes('consent_history')) consentReads++;
              return target.query(sql, params);
            };
          if (key === 'exclusive' || key === 'transaction')
            return (fn: (db: Warehouse) => Promise<unknown>) =>
              target[key]((db: Warehouse) => fn(counting(db)));
          const value = Reflect.get(target, key, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    const run = await runActivation(counting(wh), pb, { asOf: at(2 * HOUR) });
    assert.equal(consentReads, 1, 'the two decisions and the drain share one read');
    assert.deepEqual(
      run.plays.map((p) => [p.play, p.queued, p.blocked]),
      [
        ['promo', 2, 1],
        ['survey', 1, 2],
      ],
    );
    assert.equal(run.outbox.sent, 3);
    const reasons = (await listDeliveries(wh, {}))
      .map((d) => `${d.play} ${d.person_id} ${d.status} ${d.reason ?? ''}`.trim())
      .sort();
    assert.deepEqual(reasons, [
      'promo both sent',
      'promo never blocked consent: never given for marketing',
      'promo promo-only sent',
      'survey both sent',
      'survey never blocked consent: never given for research',
      'survey promo-only blocked consent: research withdrawn',
    ]);
    await wh.close();
  });

  test('the holdout arm records an exposure and sends nothing; decide() says why', async () => {
    const pb = playbook(
      receiver,
      `plays:\n  - { name: perks, segment: recent-buyers, offer: perks, channel: webhook, destination: hook, holdout: 0.5 }`,
    );
    await runActivation(wh, pb, { asOf: at(0) });
    const people = Array.from({ length: 60 }, (_, i) => `h${i}`);
    await enterAt(people, at(HOUR));
    await runActivation(wh, pb, { asOf: at(2 * HOUR) });
    const exposures = await wh.query<{ person_id: string; arm: string }>(
      `SELECT person_id, arm FROM exposures`,
    );
    assert.equal(exposures.length, 60);
    const held = exposures.filter((e) => e.arm === 'holdout').map((e) => e.person_id);
    assert.ok(held.length > 15 && held.length < 45, `about half held out (${held.length})`);
    const received = new Set(
      receiver.requests.map((q) => (JSON.parse(q.body) as { person: { id: string } }).person.id),
    );
    assert.equal(received.size, 60 - held.length);
    for (const h of held) assert.ok(!received.has(h), `${h} is held out and got nothing`);
    const withheld = await listDeliveries(wh, { status: 'withheld' });
    assert.equal(withheld.length, held.length);
    const d = await decide(wh, pb, held[0]!, { asOf: at(3 * HOUR) });
    assert.equal(d.play, null);
    assert.match(d.candidates[0]!.reasons.join(' | '), /holdout: withheld for measurement/);
    await wh.close();
  });

  test('a receiver down for a while and then back receives every delivery; dead letters replay', async () => {
    const pb = playbook(
      receiver,
      `retry: { max_attempts: 4, base: 1m, max_delay: 1h }\nplays:\n  - { name: nudge, segment: recent-buyers, offer: a, channel: webhook, destination: hook }`,
    );
    await runActivation(wh, pb, { asOf: at(0) });
    const people = ['r1', 'r2', 'r3', 'r4', 'r5'];
    receiver.status = 503;
    await enterAt(people, at(HOUR));
    let t = 2 * HOUR;
    for (let i = 0; i < 3; i++, t += 2 * HOUR) await runActivation(wh, pb, { asOf: at(t) });
    const pending = await listDeliveries(wh, { status: 'pending' });
    assert.equal(pending.length, 5);
    assert.ok(pending.every((d) => d.attempts === 3 && d.last_error?.includes('HTTP 503')));
    receiver.status = 200;
    await runActivation(wh, pb, { asOf: at(t) });
    assert.deepEqual(
      [...receiver.ids].sort(),
      people.map((p) => `nudge:${p}:enter:${people.indexOf(p) + 1}`).sort(),
    );
    // A second outage outlasting max_attempts: dead letters, then replayed by hand.
    receiver.status = 503;
    await enterAt(['r6'], at(t + HOUR));
    for (let i = 0; i < 5; i++) await runActivation(wh, pb, { asOf: at(t + (2 + 2 * i) * HOUR) });
    const dead = await listDeliveries(wh, { status: 'dead' });
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.reason, 'gave up after 4 attempts');
    receiver.status = 200;
    assert.equal(await retryDeliveries(wh, { allDead: true, asOf: at(t + 20 * HOUR) }), 1);
    await runActivation(wh, pb, { asOf: at(t + 20 * HOUR) });
    assert.equal(receiver.ids.size, 6);
    await wh.close();
  });
});
