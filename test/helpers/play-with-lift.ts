import type { Warehouse } from '../../src/engine/warehouse.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { assignArm } from '../../src/shared/arm-assignment.js';
import { createRng } from '../../src/shared/seeded-random.js';

const DAY = 86_400_000;
export const PLAY_START = Date.parse('2026-03-01T00:00:00Z');
const start = PLAY_START;

/**
 * A play with a 10% holdout where the treatment causes a known lift: people are assigned by the GrowthBook hash,
 * exposed on a day of the first two weeks, and then convert within 14 days with probability 0.10 (holdout) or
 * 0.10 + 0.04 (treatment); spend per order is the same in both arms, so revenue per person rises by 40%.
 */
export async function playWithKnownLift(wh: Warehouse, people: number, seed: number) {
  const rng = createRng(seed, 0);
  const messages: object[] = [];
  const exposures: (string | Date)[][] = [];
  let k = 0;
  for (let i = 0; i < people; i++) {
    const userId = `p${i}`;
    const { arm } = assignArm({ seed: 'spring-perks', holdoutShare: 0.1 }, userId);
    const t0 = start + rng.int(0, 14) * DAY + rng.int(0, DAY);
    exposures.push([
      'spring-perks',
      userId,
      arm,
      arm === 'holdout' ? '' : 'a',
      new Date(t0),
      `spring-perks:${userId}:1`,
    ]);
    // Before the play: the same base rate in both arms (the CUPED covariate).
    messages.push({
      type: 'track',
      event: 'Product Viewed',
      userId,
      timestamp: new Date(t0 - 3 * DAY).toISOString(),
      messageId: `m${++k}`,
    });
    if (rng.chance(0.1)) {
      messages.push({
        type: 'track',
        event: 'Order Completed',
        userId,
        properties: { revenue: 50 },
        timestamp: new Date(t0 - 5 * DAY).toISOString(),
        messageId: `m${++k}`,
      });
    }
    const p = arm === 'holdout' ? 0.1 : 0.14;
    if (rng.chance(p)) {
      messages.push({
        type: 'track',
        event: 'Order Completed',
        userId,
        properties: { revenue: 40 + rng.int(0, 21) },
        timestamp: new Date(t0 + rng.int(1, 13 * DAY)).toISOString(),
        messageId: `m${++k}`,
      });
    }
  }
  await ingestMessages(wh, messages, { source: 'test' });
  await wh.append(
    'exposures',
    ['play', 'person_id', 'arm', 'variant', 'exposed_at', 'idempotency_key'],
    exposures,
  );
}
