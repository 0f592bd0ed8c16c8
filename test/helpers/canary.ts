import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Analytics } from '@segment/analytics-node';
import { at, HOUR } from '../activate/helpers.js';

/**
 * The canary person of the erasure tests, and what identifies them: every string here must be gone from the data
 * directory's bytes after a delete and the erasure step.
 */
export const CANARY = {
  userId: 'canary-user-7731',
  anonymousId: 'canary-anon-5519',
  email: 'canary-mail-4242@example.test',
  firstName: 'Canarina-9083',
  sku: 'canary-sku-3361',
  orderId: 'canary-order-1177',
} as const;

/**
 * The canary arrives through a collector with the real SDK — an anonymous visit, then sign-in (a merge) and an order —
 * beside `others` people with an email and an order each. Resolves once the SDK flushed every batch without an error.
 *
 * @example
 * await sendCanaryThroughSdk({ host: server.url, writeKey: server.keys.write, others: 20 });
 */
export async function sendCanaryThroughSdk(o: {
  host: string;
  writeKey: string;
  others: number;
}): Promise<void> {
  const analytics = new Analytics({ writeKey: o.writeKey, host: o.host, flushAt: 20, flushInterval: 50 });
  const failures: unknown[] = [];
  analytics.on('error', (e) => failures.push(e));
  analytics.track({
    anonymousId: CANARY.anonymousId,
    event: 'Product Viewed',
    properties: { sku: CANARY.sku },
    timestamp: at(0),
  });
  analytics.identify({
    userId: CANARY.userId,
    anonymousId: CANARY.anonymousId,
    traits: { email: CANARY.email, first_name: CANARY.firstName },
    timestamp: at(HOUR / 2),
  });
  analytics.track({
    userId: CANARY.userId,
    event: 'Order Completed',
    properties: { revenue: 42, order_id: CANARY.orderId },
    timestamp: at(HOUR),
  });
  for (let i = 0; i < o.others; i++) {
    analytics.identify({
      userId: `other-${i}`,
      traits: { email: `other-${i}@example.test` },
      timestamp: at(0),
    });
    analytics.track({
      userId: `other-${i}`,
      event: 'Order Completed',
      properties: { revenue: 10 + i, order_id: `order-${i}` },
      timestamp: at(HOUR),
    });
  }
  await analytics.closeAndFlush();
  assert.deepEqual(failures, []);
}

/**
 * The canary's history as an NDJSON file at `path`: one event the import stores and one it rejects (a track without
 * an event name) into the rejects file, which therefore holds the canary's id too.
 *
 * @example
 * writeCanaryHistory(join(root, 'history.ndjson'));
 */
export function writeCanaryHistory(path: string): void {
  const lines = [
    {
      type: 'track',
      event: 'Product Viewed',
      userId: CANARY.userId,
      properties: { sku: CANARY.sku },
      timestamp: at(-HOUR).toISOString(),
      messageId: 'hist-1',
    },
    { type: 'track', userId: CANARY.userId, timestamp: at(0).toISOString(), messageId: 'hist-bad' },
  ];
  writeFileSync(path, `${lines.map((m) => JSON.stringify(m)).join('\n')}\n`);
}
