import assert from 'node:assert/strict';
import { test } from 'node:test';
import { consentAsOf, GuardReads, identifiersOf, traitsOf } from '../../src/activate/guards.js';
import { openWarehouse } from '../../src/engine/open.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';

const at = (minute: number) => `2026-04-01T10:${String(minute).padStart(2, '0')}:00Z`;

test('traits and consent of a person come from all their identifiers, read once for both', async () => {
  const wh = await openWarehouse({ path: ':memory:' });
  await ingestMessages(
    wh,
    [
      // Traits and consent given while anonymous, then the anonymous id is linked to the user.
      {
        type: 'identify',
        anonymousId: 'anon-1',
        traits: { timezone: 'Europe/Paris', plan: 'free' },
        messageId: 'm1',
        timestamp: at(1),
      },
      {
        type: 'track',
        event: 'Consent Updated',
        anonymousId: 'anon-1',
        properties: { consent: { marketing: true } },
        context: { consent: { categoryPreferences: { marketing: true } } },
        messageId: 'm2',
        timestamp: at(2),
      },
      {
        type: 'identify',
        userId: 'user-1',
        anonymousId: 'anon-1',
        traits: { plan: 'pro' },
        messageId: 'm3',
        timestamp: at(3),
      },
      { type: 'identify', userId: 'user-2', traits: { plan: 'team' }, messageId: 'm4', timestamp: at(4) },
    ],
    { source: 'test' },
  );
  const ids = await identifiersOf(wh, ['user-1']);
  assert.deepEqual([...(ids ?? [])].sort(), ['anon-1', 'user-1']);
  const expected = new Map([['user-1', { timezone: 'Europe/Paris', plan: 'pro' }]]);
  // Read on their own, with the identifiers given, and through a run's shared reads: the same traits.
  assert.deepEqual(await traitsOf(wh, ['user-1']), expected);
  assert.deepEqual(await traitsOf(wh, ['user-1'], ids), expected);
  const reads = new GuardReads(new Date(at(10)));
  const consent = await reads.consentOf(wh, ['user-1']);
  assert.deepEqual(await reads.traitsOf(wh, ['user-1']), expected);
  assert.deepEqual(
    consent.get('user-1'),
    (await consentAsOf(wh, ['user-1'], new Date(at(10)))).get('user-1'),
  );
  // Two people: each gets only their own, read alone or with one of them already known to the run's reads.
  const both = await traitsOf(wh, ['user-1', 'user-2']);
  assert.deepEqual(await reads.traitsOf(wh, ['user-2', 'user-1']), both);
  assert.deepEqual(both.get('user-2'), { plan: 'team' });
  assert.deepEqual(both.get('user-1'), { timezone: 'Europe/Paris', plan: 'pro' });
  // Someone unknown: no identifiers, no traits.
  assert.deepEqual(await identifiersOf(wh, ['nobody']), []);
  assert.deepEqual(await traitsOf(wh, ['nobody']), new Map([['nobody', {}]]));
  await wh.close();
});
