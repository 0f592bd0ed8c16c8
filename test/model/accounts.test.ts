import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { modelConfig } from '../../src/model/model-config.js';
import { refreshFeatures } from '../../src/model/refresh-features.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 1, 1);
const at = (d: number) => new Date(T0 + d * DAY).toISOString();

test('accounts: members, active users, roles, feature breadth across users, purchases and last activity', async () => {
  const wh = await openWarehouse({ path: ':memory:' });
  try {
    let n = 0;
    const id = () => `a${++n}`;
    await ingestMessages(
      wh,
      [
        { type: 'identify', userId: 'u1', traits: { role: 'admin' }, timestamp: at(0), messageId: id() },
        { type: 'identify', userId: 'u2', traits: { role: 'member' }, timestamp: at(0), messageId: id() },
        { type: 'identify', userId: 'u3', traits: { role: 'member' }, timestamp: at(0), messageId: id() },
        {
          type: 'group',
          userId: 'u1',
          groupId: 'acme',
          traits: { plan: 'pro' },
          timestamp: at(0),
          messageId: id(),
        },
        { type: 'group', userId: 'u2', groupId: 'acme', timestamp: at(0), messageId: id() },
        { type: 'group', userId: 'u3', groupId: 'acme', timestamp: at(0), messageId: id() },
        // u1 uses reports (day 20) and pays (day 21); u2 uses api (day 25); u3 was last active on day 1.
        {
          type: 'track',
          userId: 'u1',
          event: 'Feature Used',
          properties: { feature: 'reports' },
          timestamp: at(20),
          messageId: id(),
        },
        {
          type: 'track',
          userId: 'u1',
          event: 'Order Completed',
          properties: { revenue: 99 },
          timestamp: at(21),
          messageId: id(),
        },
        {
          type: 'track',
          userId: 'u2',
          event: 'Feature Used',
          properties: { feature: 'api' },
          timestamp: at(25),
          messageId: id(),
        },
        {
          type: 'track',
          userId: 'u3',
          event: 'Feature Used',
          properties: { feature: 'alerts' },
          timestamp: at(1),
          messageId: id(),
        },
      ],
      { source: 'test' },
    );
    // Adoption window 28 days as of day 30: days 2 … 30 count, so u3's day-1 use does not.
    await refreshFeatures(wh, modelConfig(), { asOf: new Date(T0 + 30 * DAY) });
    const [acme] = await wh.query<Record<string, unknown>>(
      'SELECT * FROM account_features WHERE group_id = ?',
      ['acme'],
    );
    assert.deepEqual(
      [
        Number(acme!.members),
        Number(acme!.active_users),
        JSON.parse(String(acme!.roles)),
        Number(acme!.feature_breadth),
        JSON.parse(String(acme!.features_used)),
        Number(acme!.purchases),
        acme!.revenue,
        (acme!.last_activity as Date).toISOString(),
      ],
      [3, 2, ['admin', 'member'], 2, ['api', 'reports'], 1, 99, at(25)],
    );
  } finally {
    await wh.close();
  }
});
