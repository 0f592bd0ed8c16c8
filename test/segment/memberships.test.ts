import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { isSegflowError } from '../../src/errors.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { SegmentDefinition } from '../../src/segment/definition.js';
import { membershipHistory, refreshSegments, segmentMembers } from '../../src/segment/memberships.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 3, 1);
const day = (n: number) => new Date(T0 + n * DAY);

test('people enter, leave and re-enter; every change is logged in order; sizes are kept per refresh', async () => {
  const wh = await openWarehouse({ path: ':memory:' });
  try {
    // ann is active on days 0 and 10; bob on day 1 only.
    let n = 0;
    const login = (user: string, d: number) => ({
      type: 'track',
      event: 'Login',
      userId: user,
      timestamp: day(d).toISOString(),
      messageId: `l${++n}`,
    });
    await ingestMessages(wh, [login('ann', 0), login('bob', 1), login('ann', 10)], { source: 'test' });
    const active = SegmentDefinition.parse({
      name: 'active',
      where: { performed: { event: 'Login', within: '3d' } },
    });
    const defs = [{ definition: active, file: 'segments/active.yaml' }];

    const r1 = await refreshSegments(wh, defs, { asOf: day(2) }); // ann (day 0) and bob (day 1)
    assert.deepEqual(r1.segments, [{ name: 'active', version: 1, size: 2, entered: 2, exited: 0 }]);
    const r2 = await refreshSegments(wh, defs, { asOf: day(5) }); // nobody: both leave
    assert.deepEqual(r2.segments[0], { name: 'active', version: 1, size: 0, entered: 0, exited: 2 });
    const r3 = await refreshSegments(wh, defs, { asOf: day(11) }); // ann re-enters
    assert.deepEqual(r3.segments[0], { name: 'active', version: 1, size: 1, entered: 1, exited: 0 });
    const again = await refreshSegments(wh, defs, { asOf: day(11) }); // same time: no change
    assert.deepEqual(again.segments[0], { name: 'active', version: 1, size: 1, entered: 0, exited: 0 });

    assert.deepEqual(await membershipHistory(wh, 'ann'), [
      { segment: 'active', enteredAt: day(2), exitedAt: day(5) },
      { segment: 'active', enteredAt: day(11), exitedAt: null },
    ]);
    const current = await segmentMembers(wh, 'active');
    assert.deepEqual(current, { size: 1, members: [{ personId: 'ann', enteredAt: day(11) }] });

    const log = await wh.query<{ seq: number; person_id: string; change: string; at: Date }>(
      'SELECT seq, person_id, change, changed_at AS at FROM segment_changes ORDER BY seq',
    );
    assert.deepEqual(
      log.map((c) => [Number(c.seq), c.person_id, c.change, c.at.toISOString()]),
      [
        [1, 'ann', 'enter', day(2).toISOString()],
        [2, 'bob', 'enter', day(2).toISOString()],
        [3, 'ann', 'exit', day(5).toISOString()],
        [4, 'bob', 'exit', day(5).toISOString()],
        [5, 'ann', 'enter', day(11).toISOString()],
      ],
    );

    // History only moves forward.
    await assert.rejects(
      () => refreshSegments(wh, defs, { asOf: day(3) }),
      (e) => isSegflowError(e) && /history only moves forward/.test(e.message),
    );

    // A changed definition gets a new version; memberships carry on.
    const wider = SegmentDefinition.parse({
      name: 'active',
      where: { performed: { event: 'Login', within: '30d' } },
    });
    const r4 = await refreshSegments(wh, [{ definition: wider }], { asOf: day(12) });
    assert.deepEqual(r4.segments[0], { name: 'active', version: 2, size: 2, entered: 1, exited: 0 });
    const sizes = await wh.query<{ size: number }>(
      "SELECT size FROM segment_refreshes WHERE segment = 'active' ORDER BY refresh_id",
    );
    assert.deepEqual(
      sizes.map((s) => Number(s.size)),
      [2, 0, 1, 1, 2],
    );
  } finally {
    await wh.close();
  }
});

test('segments report: sizes with their trend, Jaccard overlap, and empty, tiny and near-duplicate warnings', async () => {
  const wh = await openWarehouse({ path: ':memory:' });
  try {
    // 20 people; p0–p9 bought (b), p0–p9 also browsed (v) and p10 browsed; nobody did X.
    const msgs: object[] = [];
    let n = 0;
    for (let i = 0; i < 20; i++) {
      const t = day(1).toISOString();
      msgs.push({ type: 'track', event: 'Seen', userId: `p${i}`, timestamp: t, messageId: `s${++n}` });
      if (i < 10)
        msgs.push({ type: 'track', event: 'Buy', userId: `p${i}`, timestamp: t, messageId: `s${++n}` });
      if (i < 11)
        msgs.push({ type: 'track', event: 'View', userId: `p${i}`, timestamp: t, messageId: `s${++n}` });
      if (i < 2)
        msgs.push({ type: 'track', event: 'Rare', userId: `p${i}`, timestamp: t, messageId: `s${++n}` });
    }
    await ingestMessages(wh, msgs, { source: 'test' });
    const defs = [
      { name: 'buyers', where: { performed: { event: 'Buy' } } },
      { name: 'viewers', where: { performed: { event: 'View' } } },
      { name: 'nobody', where: { performed: { event: 'X' } } },
      { name: 'rare', where: { performed: { event: 'Rare' } } },
    ].map((d) => ({ definition: SegmentDefinition.parse(d) }));
    await refreshSegments(wh, defs, { asOf: day(2) });
    await refreshSegments(wh, defs, { asOf: day(3) });
    const { segmentReport } = await import('../../src/segment/segment-report.js');
    const r = await segmentReport(wh, { tinyShare: 0.2 });
    assert.equal(r.population, 20);
    const size = Object.fromEntries(r.segments.map((s) => [s.name, s.size]));
    assert.deepEqual(size, { buyers: 10, nobody: 0, rare: 2, viewers: 11 });
    assert.deepEqual(
      r.segments.find((s) => s.name === 'buyers')!.trend.map((t) => t.size),
      [10, 10],
    );
    // buyers ⊂ viewers: both 10, either 11 → Jaccard 10/11 > 0.9: near-duplicates.
    const bv = r.overlap.find((o) => o.a === 'buyers' && o.b === 'viewers')!;
    assert.deepEqual([bv.both, bv.jaccard], [10, 10 / 11]);
    const kinds = r.warnings.map((w) => `${w.segment}:${w.kind}`).sort();
    assert.ok(kinds.includes('nobody:empty'));
    assert.ok(kinds.includes('buyers:near-duplicate'));
    // Under 20% of everyone (2 of 20) is tiny; buyers (50%) is not.
    assert.ok(kinds.includes('rare:tiny'));
    assert.ok(!kinds.includes('buyers:tiny'));
  } finally {
    await wh.close();
  }
});
