import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runActivation } from '../../src/activate/activate-run.js';
import { consentAsOf } from '../../src/activate/guards.js';
import { listDeliveries } from '../../src/activate/outbox.js';
import { parsePlaybook } from '../../src/activate/playbook.js';
import { openWarehouse } from '../../src/engine/open.js';
import { exportPerson } from '../../src/govern/privacy.js';
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
} from '../activate/helpers.js';
import { ENGINES } from '../helpers/engines.js';
import { mulberry32 } from '../helpers/random.js';

let receiver: Receiver;
before(async () => {
  receiver = await startReceiver();
});
after(() => receiver.close());

test('consent granted, withdrawn and granted again: every moment sees the answer in force then', async () => {
  const wh = await openWarehouse({ path: ':memory:' });
  // A daily message at 09:00 UTC to recent buyers, for marketing; without an answer, nothing is sent.
  const pb = parsePlaybook(`
timezone: UTC
consent: { default: deny }
destinations:
  hook: { type: webhook, url: "${receiver.url}", secret: "${SECRET}" }
plays:
  - name: daily
    segment: recent-buyers
    offer: daily tip
    channel: webhook
    destination: hook
    purpose: marketing
    re_entry: every_time
    trigger: { on: schedule, cron: "0 9 * * *", timezone: UTC }
`);
  await runActivation(wh, pb, { asOf: at(0) });
  const granted = at(0);
  const withdrawn = at(1.5 * DAY);
  const regranted = at(2.5 * DAY);
  await events(wh, [
    identify('ann', granted, {}, { marketing: true }),
    track('ann', 'Order Completed', at(HOUR), { properties: { revenue: 10 } }),
  ]);
  await refresh(wh, at(2 * HOUR));
  await runActivation(wh, pb, { asOf: at(DAY) }); // the 09:00 tick of day 1: granted
  await events(wh, [identify('ann', withdrawn, {}, { marketing: false })]);
  await refresh(wh, at(2 * DAY));
  await runActivation(wh, pb, { asOf: at(2 * DAY) }); // day 2: withdrawn
  await events(wh, [identify('ann', regranted, {}, { marketing: true })]);
  await refresh(wh, at(3 * DAY));
  await runActivation(wh, pb, { asOf: at(3 * DAY) }); // day 3: granted again

  // Consent as of each moment, read back after all three answers are stored.
  const moments: [Date, boolean | undefined, string | null][] = [
    [at(-HOUR), undefined, null], // before any answer (and before she bought: no play to decide about)
    [at(3 * HOUR), true, 'consent: marketing granted'],
    [at(1.75 * DAY), false, 'consent: marketing withdrawn'],
    [at(2.75 * DAY), true, 'consent: marketing granted'],
  ];
  for (const [when, answer, reason] of moments) {
    const c = await consentAsOf(wh, ['ann'], when);
    assert.equal(c.get('ann')?.get('marketing')?.granted, answer, `consent as of ${when.toISOString()}`);
    if (reason === null) continue;
    // A backtest of the decision as of that moment sees the same answer.
    const d = await decide(wh, pb, 'ann', { asOf: when });
    const reasons = d.candidates.flatMap((p) => p.reasons);
    assert.ok(reasons.includes(reason), `${when.toISOString()}: ${reasons.join('; ')}`);
  }

  // Each delivery records the consent it relied on: the answer and when it was given.
  const deliveries = (await listDeliveries(wh, {})).sort(
    (a, b) => a.occurred_at.getTime() - b.occurred_at.getTime(),
  );
  assert.deepEqual(
    deliveries.map((d) => [d.status, JSON.parse(d.consent!)]),
    [
      ['sent', { purpose: 'marketing', granted: true, answeredAt: granted.toISOString() }],
      ['blocked', { purpose: 'marketing', granted: false, answeredAt: withdrawn.toISOString() }],
      ['sent', { purpose: 'marketing', granted: true, answeredAt: regranted.toISOString() }],
    ],
  );
  assert.equal(receiver.requests.length, 2);
  // An access request shows every answer, in order.
  const exported = (await exportPerson(wh, 'ann', { actor: 'cli:test' })) as unknown as {
    consent_history: { granted: boolean; ts: string }[];
  };
  assert.deepEqual(
    exported.consent_history.map((c) => [c.granted, c.ts]),
    [
      [true, granted.toISOString()],
      [false, withdrawn.toISOString()],
      [true, regranted.toISOString()],
    ],
  );
  await wh.close();
});

describe('consent of a few people, read by index lookups, equals the whole-population read', () => {
  for (const engine of ENGINES) {
    test(engine.name, async () => {
      // Random answers for people with several identifiers (anonymous ids merged in by identify calls), answers
      // given under either id, ties in time (broken by message id), and answers after some of the moments asked.
      const wh = await engine.open();
      const rnd = mulberry32(2026);
      const people = Array.from({ length: 12 }, (_, i) => `u${i}`);
      const messages: object[] = [];
      let id = 0;
      for (const user of people) {
        const anon = `anon-${user}`;
        messages.push({
          type: 'identify',
          userId: user,
          anonymousId: anon,
          timestamp: at(0).toISOString(),
          messageId: `m-${id++}`,
        });
        for (let k = Math.floor(rnd() * 6); k > 0; k--) {
          const when = at(Math.floor(rnd() * 4) * HOUR); // few distinct times: ties happen
          const who = rnd() < 0.5 ? { userId: user } : { anonymousId: anon };
          const purpose = rnd() < 0.5 ? 'marketing' : 'analytics';
          messages.push({
            type: 'identify',
            ...who,
            timestamp: when.toISOString(),
            messageId: `m-${Math.floor(rnd() * 1e6)}-${id++}`,
            context: { consent: { categoryPreferences: { [purpose]: rnd() < 0.5 } } },
          });
        }
      }
      await events(wh, messages);
      const asked = ['u0', 'u3', 'u7', 'u11', 'nobody'];
      // More people than the point lookups take: the whole-population statement answers.
      const many = [...asked, ...Array.from({ length: 600 }, (_, i) => `missing-${i}`)];
      const plain = (m: Map<string, Map<string, { granted: boolean; at: Date }>>) =>
        asked.map((p) => [
          p,
          [...(m.get(p) ?? new Map()).entries()].map(([k, v]) => [k, v.granted, v.at.getTime()]).sort(),
        ]);
      let answered = 0;
      for (const hours of [-1, 0, 1, 2, 3, 5]) {
        const few = await consentAsOf(wh, asked, at(hours * HOUR));
        const all = await consentAsOf(wh, many, at(hours * HOUR));
        assert.deepEqual(plain(few), plain(all), `as of +${hours} h`);
        answered += [...few.values()].reduce((n, m) => n + m.size, 0);
      }
      assert.ok(answered > 0, 'some answers were read');
      await wh.close();
    });
  }
});
