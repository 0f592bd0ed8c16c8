import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { featureSource } from '../../src/model/feature-catalog.js';
import { modelConfig } from '../../src/model/model-config.js';
import { personFeatures, refreshFeatures } from '../../src/model/refresh-features.js';
import { funnelReport } from '../../src/model/reports.js';
import { compileSegments } from '../../src/segment/compile.js';
import { SegmentDefinition } from '../../src/segment/definition.js';
import { ENGINES } from '../helpers/engines.js';

/**
 * Scenario tests for every model: events at known times, features as of chosen times, expectations worked out by
 * hand in the comments (docs/features.md has the formulas).
 */
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const at = (d: number, h = 0) => new Date(T0 + d * DAY + h * 3_600_000);
let n = 0;
const track = (
  user: string,
  event: string,
  when: Date,
  properties: object = {},
  ids: object = { userId: user },
) => ({
  type: 'track',
  ...ids,
  event,
  properties,
  timestamp: when.toISOString(),
  messageId: `m${String(++n).padStart(4, '0')}`,
});

const cfg = modelConfig({
  engagement: {
    weights: { 'Email Opened': 1, 'Email Link Clicked': 2 },
    halfLife: '7d',
    tiers: { high: 2, moderate: 0.5 },
  },
  lifecycle: {
    activation: ['Order Completed'],
    engagedEvents: 2,
    engagedWithin: '14d',
    loyalPurchases: 3,
    atRiskAfter: '30d',
    churnedAfter: '60d',
  },
  adoption: {
    keyFeatures: ['reports'],
    window: '28d',
    powerUses: 3,
    tiers: { power: 6, regular: 3, light: 1 },
  },
  intent: { weights: { 'Pricing Viewed': 4 }, halfLife: '7d', tiers: { high: 3, medium: 1 } },
  funnels: { buy: { steps: ['Product Viewed', 'Product Added', 'Order Completed'], within: '1d' } },
});

for (const engine of ENGINES)
  describe(engine.name, () => {
    describe('behavioral features as of any time', () => {
      let wh: Warehouse;
      const feature = async (who: string, day: number) => {
        await refreshFeatures(wh, cfg, { asOf: at(day) });
        const row = await personFeatures(wh, who, { asOf: at(day) });
        assert.ok(row, `${who} has features as of day ${day}`);
        return row;
      };

      before(async () => {
        wh = await engine.open();
        await ingestMessages(
          wh,
          [
            // RFM: ann buys 3 times (days 1, 1, 10: two the same day), bob twice (days 2, 5), cy once (day 9), dee never.
            track('ann', 'Order Completed', at(1), { revenue: 10 }),
            track('ann', 'Order Completed', at(1, 5), { revenue: 20 }),
            track('ann', 'Order Completed', at(10), { revenue: 30 }),
            track('bob', 'Order Completed', at(2), { revenue: 100 }),
            track('bob', 'Order Completed', at(5), { revenue: 20 }),
            // cy bought anonymously, then identified: the purchase is cy's.
            track('cy', 'Order Completed', at(9), { revenue: 60 }, { anonymousId: 'anon-cy' }),
            {
              type: 'identify',
              userId: 'cy',
              anonymousId: 'anon-cy',
              timestamp: at(11).toISOString(),
              messageId: 'id-cy',
            },
            track('dee', 'Email Opened', at(3)),
            // engagement: eve opens on day 20 and clicks on day 27.
            track('eve', 'Email Opened', at(20)),
            track('eve', 'Email Link Clicked', at(27)),
            // adoption: fay uses reports 3 times and api once in January; usage 90 of 100.
            track('fay', 'Feature Used', at(20), { feature: 'reports' }),
            track('fay', 'Feature Used', at(21), { feature: 'reports' }),
            track('fay', 'Feature Used', at(22), { feature: 'reports' }),
            track('fay', 'Feature Used', at(22, 1), { feature: 'api' }),
            track('fay', 'Usage Reported', at(23), { usage: 90, limit: 100 }),
            // intent: gus views pricing on day 27.
            track('gus', 'Pricing Viewed', at(27)),
            // support: hal opens tickets t1 (resolved) and t2 (open), answers CSAT 4 then 2, NPS 5.
            track('hal', 'Ticket Created', at(20), { ticket_id: 't1' }),
            track('hal', 'Ticket Resolved', at(21), { ticket_id: 't1' }),
            track('hal', 'Ticket Created', at(22), { ticket_id: 't2' }),
            track('hal', 'Survey Answered', at(21, 1), { survey: 'CSAT', score: 4 }),
            track('hal', 'Survey Answered', at(23), { survey: 'CSAT', score: 2 }),
            track('hal', 'Survey Answered', at(23, 1), { survey: 'NPS', score: 5 }),
            // funnel: ivy views, adds 2 h later, buys 23 h after the view (inside 1 day); jo views, adds, never buys.
            track('ivy', 'Product Viewed', at(30)),
            track('ivy', 'Product Added', at(30, 2)),
            track('ivy', 'Order Completed', at(30, 23), { revenue: 5 }),
            track('jo', 'Product Viewed', at(30)),
            track('jo', 'Product Added', at(30, 2)),
          ],
          { source: 'test' },
        );
      });
      after(() => wh.close());

      test('RFM: recency in days, frequency, repeat purchases, monetary, quintiles with ties, no purchases', async () => {
        // As of day 12: ann last bought day 10 (2 days), 3 orders on 2 days (1 repeat), $60; bob day 5 (7 days), 2, $120;
        // cy day 9 (3 days), 1, $60; dee no purchase.
        const ann = await feature('ann', 12);
        assert.deepEqual(
          [
            ann.rfm_recency_days,
            Number(ann.rfm_frequency),
            Number(ann.rfm_repeat_purchases),
            ann.rfm_monetary_total,
            ann.rfm_monetary_avg,
          ],
          [2, 3, 1, 60, 20],
        );
        // Three buyers. R: worse = more days: bob(7) rank 1 → 1; cy(3) rank 2 → floor(5·1/3)+1 = 2; ann(2) rank 3 → 4.
        // F: cy(1) → 1; bob(2) → 2; ann(3) → 4. M: ann and cy tie at $60 → both rank 1 → 1; bob($120) rank 3 → 4.
        const scores = async (who: string) => {
          const f = await personFeatures(wh, who, { asOf: at(12) });
          return [f!.rfm_r, f!.rfm_f, f!.rfm_m, f!.rfm_code, f!.rfm_group];
        };
        assert.deepEqual(await scores('ann'), [4, 4, 1, '441', 'Loyal Customers']);
        assert.deepEqual(await scores('bob'), [1, 2, 4, '124', 'Hibernating']);
        assert.deepEqual(
          await scores('anon-cy'),
          [2, 1, 1, '211', 'Hibernating'],
          'merged identity: looked up by the anonymous id',
        );
        const dee = await personFeatures(wh, 'dee', { asOf: at(12) });
        assert.deepEqual(
          [dee!.rfm_r, dee!.rfm_group, Number(dee!.rfm_frequency), dee!.rfm_recency_days],
          [null, null, 0, null],
        );
        // As of day 3 ann's last purchase was day 1 at 05:00: 2 − 5/24 days; two orders, $30.
        const early = await feature('ann', 3);
        assert.deepEqual(
          [early.rfm_recency_days, Number(early.rfm_frequency), early.rfm_monetary_total],
          [2 - 5 / 24, 2, 30],
        );
      });

      test('lifecycle: activated, loyal advocate, at risk, churned, with the date the stage began', async () => {
        // bob: activated on day 2 (first order); as of day 20 last activity day 5 → 15 days: still activated.
        let bob = await feature('bob', 20);
        assert.deepEqual(
          [bob.lifecycle_stage, (bob.lifecycle_since as Date).toISOString()],
          ['activated', at(2).toISOString()],
        );
        // As of day 36: 31 days without activity → at risk since day 5 + 30 = day 35.
        bob = await feature('bob', 36);
        assert.deepEqual(
          [bob.lifecycle_stage, (bob.lifecycle_since as Date).toISOString()],
          ['at risk', at(35).toISOString()],
        );
        // As of day 66: 61 days → churned since day 65.
        bob = await feature('bob', 66);
        assert.deepEqual(
          [bob.lifecycle_stage, (bob.lifecycle_since as Date).toISOString()],
          ['churned', at(65).toISOString()],
        );
        // ann: third purchase on day 10 → loyal advocate since day 10.
        const ann = await feature('ann', 12);
        assert.deepEqual(
          [ann.lifecycle_stage, (ann.lifecycle_since as Date).toISOString()],
          ['loyal advocate', at(10).toISOString()],
        );
        // eve: two engagement events within 14 days as of day 28 → engaged since the first of them (day 20).
        const eve = await feature('eve', 28);
        assert.deepEqual(
          [eve.lifecycle_stage, (eve.lifecycle_since as Date).toISOString()],
          ['engaged', at(20).toISOString()],
        );
      });

      test('engagement: exponentially decayed score and tiers', async () => {
        // As of day 27: open 7 days ago (one half-life) → 1 · 0.5 = 0.5; click now → 2. Score 2.5 → highly engaged.
        const eve = await feature('eve', 27);
        assert.ok(Math.abs((eve.engagement_score as number) - 2.5) < 1e-12);
        assert.equal(eve.engagement_tier, 'highly engaged');
        // As of day 41: 0.5^3 + 2 · 0.5^2 = 0.125 + 0.5 = 0.625 → moderately engaged.
        const later = await feature('eve', 41);
        assert.ok(Math.abs((later.engagement_score as number) - 0.625) < 1e-12);
        assert.equal(later.engagement_tier, 'moderately engaged');
      });

      test('adoption: breadth, depth, key feature, plan limit, tiers and per-feature power users', async () => {
        const fay = await feature('fay', 25);
        assert.deepEqual(
          [
            Number(fay.adoption_breadth),
            Number(fay.adoption_uses),
            JSON.parse(String(fay.adoption_depth)),
            fay.adoption_key_activated,
          ],
          [2, 4, { reports: 3, api: 1 }, true],
        );
        assert.deepEqual(
          [fay.adoption_usage_share, fay.adoption_nearing_limit, fay.adoption_tier],
          [0.9, true, 'regular'],
        );
        assert.deepEqual(JSON.parse(String(fay.adoption_power_features)), ['reports']);
        // 28-day window: as of day 49 the day-20 and day-21 uses have left it (49 − 28 = 21; the start is exclusive).
        const later = await feature('fay', 49);
        assert.deepEqual(JSON.parse(String(later.adoption_depth)), { reports: 1, api: 1 });
        assert.equal(later.adoption_tier, 'light');
      });

      test('intent and support', async () => {
        // gus: 4 · 0.5^(1/7) as of day 28.
        const gus = await feature('gus', 28);
        assert.ok(Math.abs((gus.intent_score as number) - 4 * 0.5 ** (1 / 7)) < 1e-12);
        assert.equal(gus.intent_tier, 'high');
        const hal = await feature('hal', 25);
        assert.deepEqual(
          [
            Number(hal.support_tickets),
            Number(hal.support_open_tickets),
            hal.support_last_csat,
            hal.support_last_nps,
            hal.support_detractor,
          ],
          [2, 1, 2, 5, true],
        );
      });

      test('funnels: furthest step, abandonment once the window is over, and the report', async () => {
        const ivy = await feature('ivy', 32);
        const jo = await personFeatures(wh, 'jo', { asOf: at(32) });
        // The configured funnel (`buy`); the built-in purchase funnel is computed beside it (model.funnels adds).
        const buy = (json: unknown) => ({ buy: (JSON.parse(String(json)) as Record<string, unknown>).buy });
        assert.deepEqual(buy(ivy.funnel_steps), { buy: 3 });
        assert.deepEqual(buy(jo!.funnel_steps), { buy: 2 });
        assert.deepEqual(buy(jo!.funnel_abandoned), { buy: true });
        // As of 12 hours after jo's view the day has not passed: not abandoned yet.
        const early = await feature('jo', 30.5);
        assert.deepEqual(buy(early.funnel_abandoned), { buy: false });
        const report = await funnelReport(wh, cfg, 'buy', { asOf: at(32) });
        const overall = report.rows[0]!.steps;
        assert.deepEqual(
          overall.map((s) => s.people),
          [2, 2, 1],
        );
        assert.equal(overall[1]!.medianHoursFromPrevious, 2);
        assert.equal(overall[2]!.medianHoursFromPrevious, 21);
      });

      test('segments use features: rfm.r + rfm.f >= 8 and labels', async () => {
        await refreshFeatures(wh, cfg, { asOf: at(12) });
        const defs = [
          SegmentDefinition.parse({ name: 'rf', where: { feature: 'rfm.r + rfm.f', gte: 8 } }),
          SegmentDefinition.parse({ name: 'hib', where: { feature: 'rfm.group', equals: 'Hibernating' } }),
        ];
        const c = compileSegments(wh.dialect, defs, { asOf: at(12), features: featureSource(wh.dialect) });
        const rows = await wh.query<Record<string, unknown>>(c.sql, c.params);
        const members = (col: string) =>
          rows
            .filter((r) => r[col] === true)
            .map((r) => String(r.person_id))
            .sort();
        assert.deepEqual(members('s0'), ['ann']); // 4 + 4
        assert.deepEqual(members('s1'), ['bob', 'cy']);
      });
    });
  });
