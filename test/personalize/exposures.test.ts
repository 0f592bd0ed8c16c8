import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parsePlaybook } from '../../src/activate/playbook.js';
import { openWarehouse } from '../../src/engine/open.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { decide } from '../../src/personalize/decide.js';
import { DecideService } from '../../src/personalize/decide-snapshot.js';
import { ExposureRecorder } from '../../src/personalize/exposure-recorder.js';
import { assignArm } from '../../src/shared/arm-assignment.js';
import { at, DAY, events, HOUR, refresh, track } from '../activate/helpers.js';

/**
 * Exposures on decision, on a simulated clock (decide() with `asOf` and `record: true`): one per person and play
 * per re-entry episode, held-out people exposed at the moment they would have been served, read-only decisions none.
 */
const pb = parsePlaybook(`
consent: { default: allow }
plays:
  - { name: banner, segment: recent-buyers, offer: free shipping banner, channel: in_app, holdout: 0.1, re_entry: { at_most_once_per: 7d } }
  - { name: tour, segment: recent-buyers, offer: product tour, channel: in_app, priority: -1, re_entry: once }
`);

/** The first of u0, u1, … in the given arm of `banner` (the GrowthBook hash decides; nothing is hard-coded). */
function personIn(arm: 'treatment' | 'holdout'): string {
  for (let i = 0; ; i++) {
    const id = `u${i}`;
    if ((assignArm({ seed: 'banner', holdoutShare: 0.1 }, id).arm === 'holdout') === (arm === 'holdout'))
      return id;
  }
}

async function exposuresOf(wh: Warehouse, person: string) {
  return wh.query<{ play: string; arm: string; variant: string | null; exposed_at: Date }>(
    'SELECT play, arm, variant, exposed_at FROM exposures WHERE person_id = ? ORDER BY exposed_at, play',
    [person],
  );
}

describe('exposures on decision (simulated clock)', () => {
  let wh: Warehouse;
  const member = personIn('treatment');
  const heldOut = personIn('holdout');
  before(async () => {
    wh = await openWarehouse({ path: ':memory:' });
    await events(wh, [
      track(member, 'Order Completed', at(0), { properties: { revenue: 20 } }),
      track(heldOut, 'Order Completed', at(0), { properties: { revenue: 20 } }),
      // A second order keeps both in recent-buyers past the 7-day re-entry window.
      track(member, 'Order Completed', at(6 * DAY), { properties: { revenue: 20 } }),
      track(heldOut, 'Order Completed', at(6 * DAY), { properties: { revenue: 20 } }),
    ]);
    await refresh(wh, at(HOUR));
  });
  after(() => wh.close());

  test('a member who calls decide() three times gets one treatment exposure', async () => {
    const first = await decide(wh, pb, member, { asOf: at(2 * HOUR), record: true });
    const second = await decide(wh, pb, member, { asOf: at(3 * HOUR), record: true });
    const third = await decide(wh, pb, member, { asOf: at(4 * HOUR), record: true });
    for (const d of [first, second, third]) assert.equal(d.play?.name, 'banner');
    assert.deepEqual(
      first.exposures.map((e) => [e.play, e.arm]),
      [['banner', 'treatment']],
    );
    assert.deepEqual(second.exposures, []);
    assert.deepEqual(third.exposures, []);
    assert.equal(first.recording.recorded, true);
    assert.deepEqual(await exposuresOf(wh, member), [
      { play: 'banner', arm: 'treatment', variant: null, exposed_at: at(2 * HOUR) },
    ]);
  });

  test('a held-out member gets one holdout exposure and no offer of the play, at the time they would have been served', async () => {
    const d = await decide(wh, pb, heldOut, { asOf: at(2 * HOUR), record: true });
    await decide(wh, pb, heldOut, { asOf: at(5 * HOUR), record: true });
    assert.notEqual(d.play?.name, 'banner');
    assert.match(d.candidates.find((c) => c.play === 'banner')!.reasons.join('; '), /holdout/);
    // The lower play is served instead and exposed in its own right (its own arm, its own measurement).
    assert.equal(d.play?.name, 'tour');
    const rows = await exposuresOf(wh, heldOut);
    assert.deepEqual(
      rows.filter((r) => r.play === 'banner'),
      [{ play: 'banner', arm: 'holdout', variant: null, exposed_at: at(2 * HOUR) }],
    );
    assert.equal(rows.filter((r) => r.play === 'tour').length, 1);
  });

  test('after the re-entry window the play may start again: a second exposure; `once` plays stay at one', async () => {
    await refresh(wh, at(8 * DAY));
    const d = await decide(wh, pb, member, { asOf: at(8 * DAY), record: true });
    assert.equal(d.exposures.length, 1);
    const banner = (await exposuresOf(wh, member)).filter((r) => r.play === 'banner');
    assert.deepEqual(
      banner.map((r) => r.exposed_at),
      [at(2 * HOUR), at(8 * DAY)],
    );
    const held = await decide(wh, pb, heldOut, { asOf: at(8 * DAY), record: true });
    assert.deepEqual(
      held.exposures.map((e) => [e.play, e.arm]),
      [['banner', 'holdout']],
      'the tour is `once`: no second exposure',
    );
  });

  test('a decision as of a time (a backtest, a preview) records nothing, and says so', async () => {
    const before = await wh.query<{ n: number }>('SELECT count(*) AS n FROM exposures');
    const d = await decide(wh, pb, member, { asOf: at(20 * DAY) });
    const fresh = await decide(wh, pb, 'u-nobody-knows', { asOf: at(20 * DAY) });
    assert.equal(d.recording.recorded, false);
    assert.match(d.recording.note, /read-only/);
    assert.deepEqual(d.exposures, []);
    assert.equal(fresh.recording.recorded, false);
    assert.deepEqual(await wh.query<{ n: number }>('SELECT count(*) AS n FROM exposures'), before);
  });
});

test('the server’s path: DecideService queues exposures in a recorder that writes them in batches, once per episode', async () => {
  const wh = await openWarehouse({ path: ':memory:' });
  const recorder = new ExposureRecorder(wh, { flushMs: 5 });
  try {
    const people = Array.from({ length: 40 }, (_, i) => `s${i}`);
    await events(
      wh,
      people.map((p) =>
        track(p, 'Order Completed', new Date(Date.now() - HOUR), { properties: { revenue: 5 } }),
      ),
    );
    await refresh(wh, new Date());
    await recorder.open();
    const service = new DecideService(wh, 0, recorder);
    const served = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      for (const p of people) {
        const d = await service.decide(pb, p);
        assert.equal(d.recording.recorded, true);
        if (round > 0) assert.deepEqual(d.exposures, [], `${p}: no second exposure in round ${round}`);
        if (d.play) served.set(p, d.play.name);
      }
    }
    const readOnly = await service.decide(pb, people[0]!, { record: false });
    assert.equal(readOnly.recording.recorded, false);
    await recorder.close();
    const rows = await wh.query<{ person_id: string; play: string; arm: string }>(
      'SELECT person_id, play, arm FROM exposures ORDER BY person_id, play',
    );
    const banner = rows.filter((r) => r.play === 'banner');
    assert.equal(banner.length, people.length, 'one banner exposure per person');
    for (const r of banner) {
      const arm = assignArm({ seed: 'banner', holdoutShare: 0.1 }, r.person_id).arm;
      assert.equal(r.arm, arm === 'holdout' ? 'holdout' : 'treatment');
      assert.equal(served.get(r.person_id), arm === 'holdout' ? 'tour' : 'banner');
    }
    const tour = rows.filter((r) => r.play === 'tour');
    assert.deepEqual(
      tour.map((r) => r.person_id),
      banner.filter((r) => r.arm === 'holdout').map((r) => r.person_id),
      'the tour is exposed exactly for those it was served to',
    );
    const [plays] = await wh.query<{ n: number }>("SELECT count(*) AS n FROM plays WHERE name = 'banner'");
    assert.equal(Number(plays?.n), 1, 'the play definition is recorded for measure report');
  } finally {
    await recorder.close();
    await wh.close();
  }
});
