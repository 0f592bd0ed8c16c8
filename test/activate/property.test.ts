import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runActivation } from '../../src/activate/activate-run.js';
import { parsePlaybook } from '../../src/activate/playbook.js';
import { openWarehouse } from '../../src/engine/open.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { createRng } from '../../src/shared/seeded-random.js';
import { tempDir } from '../helpers/temp.js';
import { randomCases } from '../helpers/thorough.js';
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

/**
 * Random schedules of purchases (segment enters and exits), consent changes, receiver outages and restarts (the
 * database closed and reopened between steps). Whatever happens: no message reaches a person without consent for
 * its purpose at the time it is sent, no cap is ever exceeded, and no (play, person, occurrence) reaches a receiver
 * that dedupes on webhook-id more than once.
 */
let receiver: Receiver;
before(async () => {
  receiver = await startReceiver();
});
after(() => receiver.close());

const SCENARIOS = randomCases(6, 12);

test(`${SCENARIOS} random schedules keep consent, caps and once-per-occurrence`, async () => {
  for (let seed = 1; seed <= SCENARIOS; seed++) {
    const rng = createRng(seed, 7);
    receiver.requests.length = 0;
    receiver.ids.clear();
    receiver.status = 200;
    const file = join(tempDir(), `prop-${seed}.duckdb`);
    let wh: Warehouse = await openWarehouse({ path: file });
    const pick = <T>(xs: readonly T[]) => xs[rng.int(0, xs.length)]!;
    const policies = ['once', 'every_time', '{ at_most_once_per: 2d }'];
    const pb = parsePlaybook(`
consent: { default: deny }
caps:
  global: [{ max: 2, per: 3d }]
  channels: { sms: [{ max: 1, per: 1d }] }
destinations:
  hook: { type: webhook, url: "${receiver.url}", secret: "${SECRET}" }
retry: { max_attempts: 50, base: 1m, max_delay: 2h }
plays:
  - { name: a, segment: recent-buyers, offer: x, channel: sms, purpose: marketing, destination: hook, re_entry: ${pick(policies)}, holdout: 0.2 }
  - { name: b, segment: recent-buyers, offer: y, channel: email, purpose: news, destination: hook, re_entry: ${pick(policies)} }
  - { name: c, segment: recent-buyers, offer: z, channel: sms, purpose: marketing, destination: hook, re_entry: ${pick(policies)}, trigger: { on: exit } }
`);
    const people = Array.from({ length: 6 }, (_, i) => `s${seed}p${i}`);
    /** The consent timeline the test knows: person → purpose → [time, granted][] in order. */
    const consent = new Map<string, Map<string, [number, boolean][]>>();
    let now = 0;
    await runActivation(wh, pb, { asOf: at(now) });
    for (let step = 0; step < 40; step++) {
      now += rng.int(1, 30) * HOUR;
      const action = rng.float();
      if (action < 0.35) {
        await events(wh, [
          track(pick(people), 'Order Completed', at(now - HOUR), { properties: { revenue: 5 } }),
        ]);
      } else if (action < 0.6) {
        const who = pick(people);
        const purpose = pick(['marketing', 'news']);
        const granted = rng.chance(0.7);
        // Stamped after the previous run, as a live answer would be (a back-dated one could precede a decision).
        await events(wh, [identify(who, at(now - 60_000), {}, { [purpose]: granted })]);
        const per = consent.get(who) ?? new Map<string, [number, boolean][]>();
        per.set(purpose, [...(per.get(purpose) ?? []), [at(now - 60_000).getTime(), granted]]);
        consent.set(who, per);
      } else if (action < 0.7) {
        receiver.status = receiver.status === 200 ? 503 : 200;
      } else if (action < 0.8) {
        await wh.close();
        wh = await openWarehouse({ path: file });
      }
      await refresh(wh, at(now));
      receiver.now = at(now);
      await runActivation(wh, pb, { asOf: at(now) });
    }
    receiver.status = 200;
    receiver.now = at(now + 10 * DAY);
    await runActivation(wh, pb, { asOf: at(now + 10 * DAY) });
    const sent = await wh.query<{
      idempotency_key: string;
      play: string;
      person_id: string;
      channel: string;
    }>(`SELECT idempotency_key, play, person_id, channel FROM deliveries`);
    const byKey = new Map(sent.map((d) => [d.idempotency_key, d]));
    const purposeOf = (play: string) => (play === 'b' ? 'news' : 'marketing');
    const granted = (person: string, purpose: string, t: number) => {
      const timeline = consent.get(person)?.get(purpose) ?? [];
      let answer = false;
      for (const [when, g] of timeline) if (when <= t) answer = g;
      return answer;
    };
    const firstArrival = new Map<string, { t: number; person: string; channel: string }>();
    for (const r of receiver.requests) {
      const key = String(r.headers['webhook-id']);
      const d = byKey.get(key);
      assert.ok(d, `seed ${seed}: a request with an unknown key ${key}`);
      const t = r.at!.getTime();
      assert.ok(
        granted(d.person_id, purposeOf(d.play), t),
        `seed ${seed}: ${key} reached ${d.person_id} at ${r.at!.toISOString()} without ${purposeOf(d.play)} consent`,
      );
      if (!firstArrival.has(key)) firstArrival.set(key, { t, person: d.person_id, channel: d.channel });
    }
    // Caps, counted on what receivers got (each occurrence once: they dedupe on webhook-id).
    const arrivals = [...firstArrival.values()];
    for (const a of arrivals) {
      const inWindow = (w: number, channel?: string) =>
        arrivals.filter(
          (b) =>
            b.person === a.person &&
            b.t > a.t - w &&
            b.t <= a.t &&
            (channel === undefined || b.channel === channel),
        ).length;
      assert.ok(inWindow(3 * DAY) <= 2, `seed ${seed}: more than 2 messages in 3 days for ${a.person}`);
      if (a.channel === 'sms')
        assert.ok(inWindow(DAY, 'sms') <= 1, `seed ${seed}: 2 sms in a day for ${a.person}`);
    }
    // Every occurrence has one key, and receivers saw each key at most once after dedupe: ids ⊆ keys.
    assert.ok([...receiver.ids].every((id) => byKey.has(id)));
    const [stuck] = await wh.query<{ n: number }>(
      `SELECT count(*)::INTEGER AS n FROM deliveries WHERE status IN ('pending', 'deferred')`,
    );
    assert.equal(stuck!.n, 0, `seed ${seed}: everything due was sent or settled once the receiver recovered`);
    await wh.close();
  }
});
