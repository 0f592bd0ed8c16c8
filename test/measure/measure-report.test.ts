import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { measureReport } from '../../src/measure/measure-report.js';
import { playWithKnownLift, PLAY_START as start } from '../helpers/play-with-lift.js';

const DAY = 86_400_000;

describe('the lift report of a play', () => {
  test('a 10% holdout: the interval contains the known lift, the split passes SRM, CUPED and corrections apply', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    try {
      await playWithKnownLift(wh, 20_000, 1);
      const report = await measureReport(wh, {
        play: 'spring-perks',
        asOf: new Date(start + 40 * DAY),
        holdoutShare: 0.1,
        kpis: [
          {
            name: 'conversion_rate',
            definition: { kind: 'conversion', event: 'Order Completed', within: '14d' },
          },
          { name: 'revenue_per_person', definition: { kind: 'revenue', within: '14d' } },
        ],
      });
      const holdout = report.arms.find((a) => a.arm === 'holdout')!.people;
      assert.ok(holdout > 1800 && holdout < 2200, `holdout ${holdout}`);
      assert.equal(report.srm?.flagged, false);
      const conv = report.rows.find((r) => r.kpi === 'conversion_rate')!;
      const abs = conv.lift!.absolute;
      assert.ok(abs.ci.lower < 0.04 && 0.04 < abs.ci.upper, `0.04 in (${abs.ci.lower}, ${abs.ci.upper})`);
      const rel = conv.lift!.relative!;
      assert.ok(
        rel.ci.lower < 0.4 && 0.4 < rel.ci.upper,
        `relative 0.4 in (${rel.ci.lower}, ${rel.ci.upper})`,
      );
      assert.ok(abs.pValue < 0.001, 'a 40% lift on 20,000 people is detected');
      assert.equal(conv.pending, 0);
      assert.ok(conv.cuped, 'conversion has a pre-period covariate');
      assert.ok(conv.holmP !== null && conv.holmP >= abs.pValue);
      const revenue = report.rows.find((r) => r.kpi === 'revenue_per_person')!;
      // Expected revenue per person: 0.10 · 50 (holdout) vs 0.14 · 50 (treatment) → +2.00.
      const r = revenue.lift!.absolute;
      assert.ok(r.ci.lower < 2 && 2 < r.ci.upper, `revenue lift 2 in (${r.ci.lower}, ${r.ci.upper})`);
      assert.ok(report.mde && report.mde.absolute > 0 && report.mde.absolute < 0.04);
    } finally {
      await wh.close();
    }
  });

  test('people whose window has not ended are pending, not counted; an unknown play is a clear error', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    try {
      await playWithKnownLift(wh, 2000, 2);
      const mid = await measureReport(wh, {
        play: 'spring-perks',
        asOf: new Date(start + 20 * DAY),
        kpis: [{ name: 'c', definition: { kind: 'conversion', event: 'Order Completed', within: '14d' } }],
      });
      const row = mid.rows[0]!;
      const counted = row.lift ? row.lift.control.n + row.lift.treatment.n : 0;
      assert.ok(row.pending > 0 && counted > 0);
      const [exposedBy] = await wh.query<{ n: number }>(
        `SELECT count(DISTINCT person_id)::INTEGER AS n FROM exposures WHERE exposed_at <= ?`,
        [new Date(start + 20 * DAY)],
      );
      assert.equal(counted + row.pending, exposedBy!.n);
      await assert.rejects(measureReport(wh, { play: 'nope', kpis: [] }), /no such play 'nope'/);
      await assert.rejects(
        measureReport(wh, { play: 'spring-perks', asOf: new Date(start - DAY), kpis: [] }),
        /no exposures for play 'spring-perks' up to/,
      );
    } finally {
      await wh.close();
    }
  });
});

test('the admin API serves the same report (read key), and a 404 for a play without exposures', async () => {
  const { startTestServer } = await import('../server/helpers.js');
  const server = await startTestServer();
  try {
    await playWithKnownLift(server.wh, 3000, 4);
    const asOf = new Date(start + 40 * DAY).toISOString();
    const get = (path: string) =>
      fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${server.keys.read}` } });
    const r = await get(`/api/v1/measure/spring-perks?kpi=conversion_rate&holdoutShare=0.1&asOf=${asOf}`);
    assert.equal(r.status, 200);
    const body = (await r.json()) as { rows: { kpi: string; lift: { absolute: { estimate: number } } }[] };
    const direct = await measureReport(server.wh, {
      play: 'spring-perks',
      asOf: new Date(asOf),
      holdoutShare: 0.1,
      kpis: [
        {
          name: 'conversion_rate',
          definition: { kind: 'conversion', event: 'Order Completed', within: '14d' },
        },
      ],
    });
    assert.equal(body.rows[0]!.lift.absolute.estimate, direct.rows[0]!.lift!.absolute.estimate);
    assert.equal((await get('/api/v1/measure/nothing-here')).status, 404);
  } finally {
    await server.close();
  }
});
