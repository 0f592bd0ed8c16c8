import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
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
