import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { purgeExpired, retentionConfig } from '../../src/govern/retention.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { modelConfig } from '../../src/model/model-config.js';
import { refreshFeatures } from '../../src/model/refresh-features.js';

const DAY = 86_400_000;
const T = Date.UTC(2026, 5, 1);
let n = 0;
const track = (userId: string, event: string, days: number) => ({
  type: 'track',
  userId,
  event,
  timestamp: new Date(T - days * DAY).toISOString(),
  messageId: `inc${++n}`,
});

test('an incremental refresh starts from the last one only when nothing it saw has changed', async () => {
  const wh = await openWarehouse({ path: ':memory:' });
  try {
    const cfg = modelConfig();
    await ingestMessages(
      wh,
      [
        track('ann', 'Order Completed', 40),
        track('bob', 'Email Opened', 3),
        track('cy', 'Pricing Viewed', 200),
      ],
      { source: 'test' },
    );
    const at = (days: number) => new Date(T + days * DAY);
    assert.equal((await refreshFeatures(wh, cfg, { asOf: at(0) })).mode, 'full', 'nothing to start from');

    // A day later, one new event: only its person is computed again; the other rows move with time.
    await ingestMessages(wh, [track('bob', 'Email Opened', -0.5)], { source: 'test' });
    const next = await refreshFeatures(wh, cfg, { asOf: at(1) });
    assert.deepEqual([next.mode, next.recomputed, next.persons, next.since], ['incremental', 1, 3, at(0)]);
    const [ann] = await wh.query<{ r: number }>(
      `SELECT rfm_recency_days AS r FROM features WHERE person_id = 'ann' AND as_of = ?`,
      [at(1)],
    );
    assert.equal(ann!.r, 41, 'recency counted from the last purchase to the new as-of time');

    // Another configuration: nothing computed under the old one is carried over.
    const other = modelConfig({ engagement: { halfLife: '3d' } });
    assert.equal((await refreshFeatures(wh, other, { asOf: at(2) })).mode, 'full');

    // Events deleted since (retention): the last refresh saw events that are gone, so everyone is recomputed.
    await purgeExpired(wh, retentionConfig({ default: '100d' }), { asOf: at(2) });
    const purged = await refreshFeatures(wh, other, { asOf: at(3) });
    assert.deepEqual([purged.mode, purged.persons], ['full', 2]);

    // Features deleted by hand: the refresh log no longer describes the rows, so it is not used.
    await wh.run('DELETE FROM features WHERE as_of = ?', [at(3)]);
    assert.equal((await refreshFeatures(wh, other, { asOf: at(4) })).mode, 'full');

    assert.equal((await refreshFeatures(wh, other, { asOf: at(5), full: true })).mode, 'full');
    assert.equal((await refreshFeatures(wh, other, { asOf: at(6) })).mode, 'incremental');
  } finally {
    await wh.close();
  }
});

test('a person whose only change is an event crossing a window edge is recomputed, and every row equals a full refresh', async () => {
  // Every window a different length, so each crossing below is the only reason its person is recomputed.
  const cfg = modelConfig({ support: { window: '60d' } });
  const edge = (duration: number) => T - duration * DAY + DAY / 2; // crosses the edge between T and T + 1 day
  const at = (ms: number, userId: string, event: string, properties: object = {}) => ({
    type: 'track',
    userId,
    event,
    properties,
    timestamp: new Date(ms).toISOString(),
    messageId: `edge-${userId}-${event}`,
  });
  const messages = [
    at(edge(60), 'support', 'Ticket Created', { ticket_id: 't1' }), // the support window (60d here)
    at(edge(28), 'adoption', 'Feature Used', { feature: 'reports' }), // adoption window (28d)
    at(edge(30), 'engaged', 'Email Opened'), // engaged-within and at-risk-after (30d)
    at(edge(7), 'funnel', 'Product Viewed'), // the purchase funnel's within (7d): abandoned once it is over
    at(T - 200 * DAY, 'quiet', 'Order Completed', { revenue: 10 }), // nothing changes but time
  ];
  const next = new Date(T + DAY);
  const incremental = await openWarehouse({ path: ':memory:' });
  const full = await openWarehouse({ path: ':memory:' });
  try {
    await ingestMessages(incremental, messages, { source: 'test' });
    await refreshFeatures(incremental, cfg, { asOf: new Date(T) });
    const r = await refreshFeatures(incremental, cfg, { asOf: next });
    assert.deepEqual([r.mode, r.recomputed, r.persons], ['incremental', 4, 5]);
    await ingestMessages(full, messages, { source: 'test' });
    await refreshFeatures(full, cfg, { asOf: next });
    const rows = (wh: typeof full) =>
      wh.query<Record<string, unknown>>('SELECT * FROM features WHERE as_of = ? ORDER BY person_id', [next]);
    const [got, want] = [await rows(incremental), await rows(full)];
    assert.equal(got.length, 5);
    for (const [i, row] of want.entries()) {
      for (const [key, value] of Object.entries(row)) {
        const g = got[i]![key];
        if (typeof value === 'number')
          assert.ok(Math.abs(Number(g) - value) <= 1e-9 * Math.max(1, Math.abs(value)));
        else assert.deepEqual(g, value, `${row.person_id} ${key}`);
      }
    }
    // The crossings did change something: the ticket left the window, the funnel was abandoned.
    const byPerson = new Map(got.map((x) => [x.person_id, x]));
    assert.equal(Number(byPerson.get('support')!.support_tickets), 0);
    assert.equal(JSON.parse(String(byPerson.get('funnel')!.funnel_abandoned)).purchase, true);
  } finally {
    await incremental.close();
    await full.close();
  }
});
