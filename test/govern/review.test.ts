import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runActivation } from '../../src/activate/activate-run.js';
import { parsePlaybook } from '../../src/activate/playbook.js';
import { openWarehouse } from '../../src/engine/open.js';
import { reviewSegments } from '../../src/govern/segment-review.js';
import { SegmentDefinition } from '../../src/segment/definition.js';
import { createRng } from '../../src/shared/seeded-random.js';
import {
  at,
  DAY,
  events,
  HOUR,
  type Receiver,
  refresh,
  SECRET,
  startReceiver,
  track,
} from '../activate/helpers.js';

test('the review recommends merging a near-duplicate and retiring a segment whose play has no lift', async () => {
  const wh = await openWarehouse({ path: ':memory:' });
  const receiver: Receiver = await startReceiver();
  try {
    const defs = [
      SegmentDefinition.parse({
        name: 'viewers',
        where: { performed: { event: 'Product Viewed', within: '30d' } },
      }),
      SegmentDefinition.parse({
        name: 'buyers',
        where: { performed: { event: 'Order Completed', within: '30d' } },
      }),
      // Planted: the same people as buyers, written differently.
      SegmentDefinition.parse({
        name: 'buyers-again',
        where: { performed: { event: 'Order Completed', atLeast: 1, within: '4w' } },
      }),
      SegmentDefinition.parse({
        name: 'big-viewers',
        where: { performed: { event: 'Product Viewed', atLeast: 2, within: '30d' } },
      }),
    ];
    const pb = parsePlaybook(`
consent: { default: allow }
destinations:
  hook: { type: webhook, url: "${receiver.url}", secret: "${SECRET}" }
plays:
  - { name: useless-nudge, segment: viewers, offer: a nudge nobody acts on, channel: webhook, destination: hook, holdout: 0.5, kpi: conversion_rate }
`);
    await runActivation(wh, pb, { asOf: at(0) });
    const rng = createRng(12, 0);
    const messages: object[] = [];
    for (let i = 0; i < 1200; i++) {
      const u = `v${i}`;
      messages.push(track(u, 'Product Viewed', at(rng.int(1, 24) * HOUR)));
      if (rng.chance(0.3)) messages.push(track(u, 'Product Viewed', at(rng.int(2, 5) * DAY)));
      // Whether they buy has nothing to do with the play: the same chance in both arms.
      if (rng.chance(0.25))
        messages.push(track(u, 'Order Completed', at(rng.int(2, 15) * DAY), { properties: { revenue: 20 } }));
    }
    await events(wh, messages);
    await refresh(wh, at(DAY), defs);
    await runActivation(wh, pb, { asOf: at(DAY + HOUR) });
    await refresh(wh, at(20 * DAY), defs);
    const reviews = await reviewSegments(wh, { asOf: at(20 * DAY) });
    const by = new Map(reviews.map((r) => [r.segment, r]));
    assert.equal(by.get('buyers')!.recommendation, 'merge');
    assert.match(by.get('buyers')!.reasons[0]!, /near-duplicate of buyers-again: 100\.0% overlap/);
    assert.equal(by.get('buyers-again')!.recommendation, 'merge');
    const viewers = by.get('viewers')!;
    assert.equal(viewers.plays[0]!.exposed, 1200);
    assert.equal(viewers.recommendation, 'retire');
    assert.match(viewers.reasons[0]!, /no lift: useless-nudge \(1200 exposed, conversion_rate lift/);
    assert.equal(by.get('big-viewers')!.recommendation, 'keep');
  } finally {
    await wh.close();
    await receiver.close();
  }
});
