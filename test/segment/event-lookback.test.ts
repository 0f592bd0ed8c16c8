import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { type Condition, SegmentDefinition } from '../../src/segment/definition.js';
import { eventLookbackMs } from '../../src/segment/event-lookback.js';
import { previewSegment, refreshSegments, segmentMembers } from '../../src/segment/memberships.js';

const H = 3_600_000;
const D = 24 * H;
const order = { event: 'Order Completed' };

/** Each condition alone: how far back its events are read, or null when every event must be. */
const CASES: [string, Condition, number | null][] = [
  ['performed within 1h', { performed: { ...order, within: '1h' } }, H],
  ['performed at least 2 within 7d', { performed: { ...order, within: '7d', atLeast: 2 } }, 7 * D],
  ['performed exactly 1 within 1d', { performed: { ...order, within: '1d', exactly: 1 } }, D],
  ['performed ever', { performed: order }, null],
  ['performed at most 2 (true without events)', { performed: { ...order, within: '1d', atMost: 2 } }, null],
  ['performed exactly 0', { performed: { ...order, within: '1d', exactly: 0 } }, null],
  ['performed at least 0', { performed: { ...order, within: '1d', atLeast: 0 } }, null],
  ['notPerformed', { notPerformed: { ...order, within: '1d' } }, null],
  ['lastPerformed within', { lastPerformed: { ...order, within: '2d' } }, 2 * D],
  ['lastPerformed before', { lastPerformed: { ...order, before: '2d' } }, null],
  ['firstPerformed within (the first ever)', { firstPerformed: { ...order, within: '2d' } }, null],
  [
    'sequence with a lookback',
    { sequence: { steps: [order], lookback: '14d', thenNot: { ...order, within: '1h' } } },
    14 * D,
  ],
  ['sequence any time', { sequence: { steps: [order], thenNot: { ...order, within: '1h' } } }, null],
  ['didRegularly 4 weeks', { didRegularly: { ...order, period: '7d', periods: 4, atLeast: 2 } }, 28 * D],
  ['stoppedDoing', { stoppedDoing: { ...order, within: '7d' } }, null],
  ['trait', { trait: 'plan', equals: 'pro' }, null],
  [
    'and: one recent part suffices to be false, the longest window is read',
    {
      and: [
        { performed: { ...order, within: '1h' } },
        { performed: { event: 'Page', within: '2d', atMost: 3 } },
      ],
    },
    2 * D,
  ],
  [
    'and with a trait: the trait is read as well',
    {
      and: [{ performed: { ...order, within: '1h' } }, { trait: 'plan', equals: 'pro' }],
    },
    null,
  ],
  [
    'or: every part must be false',
    {
      or: [
        { performed: { ...order, within: '1h' } },
        { performed: { event: 'Page', within: '2d', atMost: 3 } },
      ],
    },
    null,
  ],
  [
    'or of recent parts',
    { or: [{ performed: { ...order, within: '1h' } }, { lastPerformed: { ...order, within: '3h' } }] },
    3 * H,
  ],
  ['not', { not: { performed: { ...order, within: '1h' } } }, null],
];

for (const [label, where, ms] of CASES)
  test(`event lookback: ${label}`, () => {
    assert.equal(eventLookbackMs([{ where }]), ms);
  });

test('event lookback of several definitions: the longest, or null when any reads everything', () => {
  const recent = { where: { performed: { ...order, within: '1h' } } as Condition };
  const week = { where: { performed: { ...order, within: '7d' } } as Condition };
  const ever = { where: { performed: order } as Condition };
  assert.equal(eventLookbackMs([recent, week]), 7 * D);
  assert.equal(eventLookbackMs([recent, ever]), null);
  assert.equal(eventLookbackMs([]), null);
});

test('a refresh of recent-only segments reads recent events; a preview still counts everyone evaluated', async () => {
  const wh = await openWarehouse({ path: ':memory:' });
  const asOf = new Date('2026-05-01T12:00:00Z');
  const order = (userId: string, hoursAgo: number) => ({
    type: 'track',
    event: 'Order Completed',
    userId,
    messageId: `${userId}-${hoursAgo}`,
    timestamp: new Date(asOf.getTime() - hoursAgo * H).toISOString(),
  });
  await ingestMessages(wh, [order('recent', 0.5), order('old', 30), order('older', 300)], { source: 'test' });
  const buyers = SegmentDefinition.parse({
    name: 'buyers',
    where: { performed: { event: 'Order Completed', within: '1h' } },
  });
  const refreshed = await refreshSegments(wh, [{ definition: buyers }], { asOf });
  assert.equal(refreshed.recomputed, 1, 'only the person with a recent event was read');
  const { members } = await segmentMembers(wh, 'buyers');
  assert.deepEqual(
    members.map((m) => m.personId),
    ['recent'],
  );
  const preview = await previewSegment(wh, [buyers], 'buyers', { asOf });
  assert.deepEqual([preview.size, preview.population], [1, 3]);
  await wh.close();
});
