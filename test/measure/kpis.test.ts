import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { measureReport } from '../../src/measure/measure-report.js';

const DAY = 86_400_000;
const t0 = Date.parse('2026-03-10T12:00:00Z');
const at = (days: number) => new Date(t0 + days * DAY).toISOString();

test('every KPI kind on a hand-computed example, and a segment breakdown', async () => {
  const wh = await openWarehouse({ path: ':memory:' });
  try {
    let k = 0;
    const buy = (u: string, days: number, revenue: number) => ({
      type: 'track',
      event: 'Order Completed',
      userId: u,
      properties: { revenue },
      timestamp: at(days),
      messageId: `k${++k}`,
    });
    const act = (u: string, days: number, event = 'Product Viewed', properties = {}) => ({
      type: 'track',
      event,
      userId: u,
      properties,
      timestamp: at(days),
      messageId: `k${++k}`,
    });
    await ingestMessages(
      wh,
      [
        buy('h1', -10, 100),
        buy('h1', 5, 50),
        act('h1', -3),
        act('h1', 9),
        buy('h2', -20, 80),
        buy('t1', -10, 100),
        buy('t1', 3, 150),
        act('t1', 2, 'Feature Used', { feature: 'reports' }),
        act('t1', 10),
        buy('t2', 4, 60),
        buy('t3', -5, 40),
      ],
      { source: 'test' },
    );
    const rows = [
      ['h1', 'holdout'],
      ['h2', 'holdout'],
      ['t1', 'treatment'],
      ['t2', 'treatment'],
      ['t3', 'treatment'],
    ];
    for (const [person, arm] of rows) {
      await wh.run(
        `INSERT INTO exposures (play, person_id, arm, variant, exposed_at, idempotency_key) VALUES ('p', ?, ?, NULL, ?, ?)`,
        [person!, arm!, new Date(t0), `p:${person}`],
      );
    }
    await wh.run(
      `INSERT INTO segment_memberships (segment, person_id, entered_at, exited_at) VALUES
      ('vip', 'h1', ?, NULL), ('vip', 'h2', ?, NULL), ('vip', 't1', ?, ?), ('vip', 't3', ?, NULL)`,
      [new Date(t0 - DAY), new Date(t0 - DAY), new Date(t0 - DAY), new Date(t0 + DAY), new Date(t0 - DAY)],
    );
    const r = await measureReport(wh, {
      play: 'p',
      asOf: new Date(t0 + 31 * DAY),
      segments: ['vip'],
      kpis: [
        { name: 'retention', definition: { kind: 'retention', period: '7d', k: 2 } },
        { name: 'repeat', definition: { kind: 'repeat_purchase', within: '30d' } },
        { name: 'grr', definition: { kind: 'grr', period: '30d' } },
        { name: 'nrr', definition: { kind: 'nrr', period: '30d' } },
        {
          name: 'activation',
          definition: {
            kind: 'activation',
            event: 'Feature Used',
            property: 'feature',
            equals: 'reports',
            within: '14d',
          },
        },
        { name: 'ltv', definition: { kind: 'ltv', horizon: '30d', predicted: false } },
      ],
    });
    const means = (kpi: string, segment: string | null = null) => {
      const row = r.rows.find((x) => x.kpi === kpi && x.segment === segment)!;
      assert.ok(row.lift, `${kpi}: ${row.note}`);
      return [row.lift.control.n, row.lift.control.mean, row.lift.treatment.n, row.lift.treatment.mean];
    };
    const close = (a: number[], b: number[]) => {
      for (const [i, x] of a.entries()) assert.ok(Math.abs(x - b[i]!) < 1e-9, `${a} vs ${b}`);
    };
    close(means('retention'), [2, 0.5, 3, 1 / 3]); // active in days (7, 14]: h1 and t1
    close(means('repeat'), [2, 0.5, 2, 0.5]); // bought before: h1 h2 | t1 t3; again: h1 | t1
    close(means('grr'), [2, 50 / 180, 2, 100 / 140]); // Σ min(after, before) / Σ before
    close(means('nrr'), [2, 50 / 180, 2, 150 / 140]); // Σ after / Σ before
    close(means('activation'), [2, 0, 3, 1 / 3]);
    close(means('ltv'), [2, 25, 3, 70]);
    // In segment vip at first exposure: h1, h2 | t1 (left after t0, still counted), t3.
    close(means('ltv', 'vip'), [2, 25, 2, 75]);
    assert.ok(r.rows.every((x) => x.pending === 0));
  } finally {
    await wh.close();
  }
});
