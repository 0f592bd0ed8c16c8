import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { featureSource } from '../../src/model/feature-catalog.js';
import { modelConfig } from '../../src/model/model-config.js';
import { refreshFeatures } from '../../src/model/refresh-features.js';
import { compileSegments } from '../../src/segment/compile.js';
import { SegmentDefinition } from '../../src/segment/definition.js';
import { refreshSegments } from '../../src/segment/memberships.js';

/**
 * Incremental segment refresh, one person per way a membership can change with nothing else about them changing:
 * each must be re-evaluated (and end where a full evaluation puts them); a person with nothing crossing stays out of
 * the evaluation. The random two-step fuzz (differential.test.ts) rarely isolates one cause like this.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 4, 10, 12);
const T = T0 + 2 * HOUR;
const at = (ms: number) => new Date(ms).toISOString();

let n = 0;
const track = (user: string, event: string, ts: number) => ({
  type: 'track',
  event,
  userId: user,
  timestamp: at(ts),
  messageId: `m${++n}`,
});

const definitions = [
  // k·P period boundaries: Visit at T0 − 5d + 1h moves from this period to the one before between T0 and T.
  { name: 'regular', where: { didRegularly: { event: 'Visit', period: '5d', periods: 3, atLeast: 2 } } },
  // The abandonment wait: Added at T0 − 30 min, no order: the hour is over by T.
  {
    name: 'abandoned',
    where: { sequence: { steps: [{ event: 'Added' }], thenNot: { event: 'Ordered', within: '1h' } } },
  },
  // A rolling window: a Search at T0 − 1d + 1h leaves the day by T.
  { name: 'searched', where: { performed: { event: 'Search', within: '1d' } } },
  // A trait date inside a window ending at T: since = T0 − 7d + 1h leaves the week by T.
  { name: 'recent-signup', where: { trait: 'since', within: '7d' } },
  // A feature that moves with time alone: the last activity 30 days ago turns the stage to at risk.
  { name: 'at-risk', where: { feature: 'lifecycle.stage', equals: 'at risk' } },
  // Account peers: anyone whose account has a searcher.
  { name: 'team-searching', where: { account: { any: { performed: { event: 'Search', within: '1d' } } } } },
].map((d) => ({ definition: SegmentDefinition.parse(d) }));

async function seed(wh: Warehouse): Promise<void> {
  await ingestMessages(
    wh,
    [
      track('regular', 'Visit', T0 - 5 * DAY + HOUR),
      track('regular', 'Visit', T0 - HOUR),
      track('abandoner', 'Added', T0 - HOUR / 2),
      track('searcher', 'Search', T0 - DAY + HOUR),
      {
        type: 'identify',
        userId: 'signup',
        traits: { since: at(T0 - 7 * DAY + HOUR) },
        timestamp: at(T0 - 20 * DAY),
        messageId: `m${++n}`,
      },
      track('lapsing', 'Ping', T0 - 30 * DAY + HOUR),
      {
        type: 'group',
        userId: 'searcher',
        groupId: 'acme',
        timestamp: at(T0 - 40 * DAY),
        messageId: `m${++n}`,
      },
      {
        type: 'group',
        userId: 'teammate',
        groupId: 'acme',
        timestamp: at(T0 - 40 * DAY),
        messageId: `m${++n}`,
      },
      track('quiet', 'Visit', T0 - 3 * DAY),
    ],
    { source: 'test' },
  );
}

async function members(wh: Warehouse): Promise<Record<string, string[]>> {
  const rows = await wh.query<{ segment: string; person_id: string }>(
    'SELECT segment, person_id FROM segment_memberships WHERE exited_at IS NULL ORDER BY segment, person_id',
  );
  const out: Record<string, string[]> = {};
  for (const r of rows) out[r.segment] = [...(out[r.segment] ?? []), r.person_id];
  return out;
}

/** Every segment's members as of T from one full evaluation (no memberships involved). */
async function evaluated(
  wh: Warehouse,
  asOf: Date,
  defs: readonly { definition: SegmentDefinition }[] = definitions,
): Promise<Record<string, string[]>> {
  const compiled = compileSegments(
    wh.dialect,
    defs.map((d) => d.definition),
    { asOf, features: featureSource(wh.dialect) },
  );
  const rows = await wh.query<Record<string, unknown>>(compiled.sql, compiled.params);
  const out: Record<string, string[]> = {};
  for (const { name, column } of compiled.columns) {
    const got = rows.filter((r) => r[column] === true).map((r) => String(r.person_id));
    if (got.length) out[name] = got.sort();
  }
  return out;
}

/** A fresh in-memory warehouse with the seeded people, closed after `fn` whatever happens. */
async function withSeeded(fn: (wh: Warehouse) => Promise<void>): Promise<void> {
  const wh = await openWarehouse({ path: ':memory:' });
  try {
    await seed(wh);
    await fn(wh);
  } finally {
    await wh.close();
  }
}

describe('incremental segment refresh', () => {
  test('each kind of time edge alone re-evaluates its person, and nobody else', () =>
    withSeeded(async (wh) => {
      const features = featureSource(wh.dialect);
      await refreshFeatures(wh, modelConfig(), { asOf: new Date(T0) });
      const first = await refreshSegments(wh, definitions, { asOf: new Date(T0), features });
      assert.equal(first.mode, 'full');
      const before = await members(wh);
      assert.deepEqual(before, await evaluated(wh, new Date(T0)));
      assert.deepEqual(before, {
        'recent-signup': ['signup'],
        searched: ['searcher'],
        'team-searching': ['searcher', 'teammate'],
      });

      await refreshFeatures(wh, modelConfig(), { asOf: new Date(T) });
      const second = await refreshSegments(wh, definitions, { asOf: new Date(T), features });
      assert.equal(second.mode, 'incremental');
      const after = await members(wh);
      assert.deepEqual(after, await evaluated(wh, new Date(T)));
      assert.deepEqual(after, {
        regular: ['regular'],
        abandoned: ['abandoner'],
        'at-risk': ['lapsing'],
      });
      // regular, abandoner, searcher, signup, lapsing, and the searcher's teammate; not quiet.
      assert.equal(second.recomputed, 6);
      assert.deepEqual(
        second.segments.map((s) => [s.name, s.size, s.entered, s.exited]),
        [
          ['regular', 1, 1, 0],
          ['abandoned', 1, 1, 0],
          ['searched', 0, 0, 1],
          ['recent-signup', 0, 0, 1],
          ['at-risk', 1, 1, 0],
          ['team-searching', 0, 0, 2],
        ],
      );
    }));

  test('refreshes without any active segment are numbered on (the log has a row for each)', () =>
    withSeeded(async (wh) => {
      const ids = [];
      for (const h of [0, 1, 2])
        ids.push((await refreshSegments(wh, [], { asOf: new Date(T0 + h * HOUR) })).refreshId);
      assert.deepEqual(ids, [1, 2, 3]);
      const later = await refreshSegments(wh, definitions.slice(0, 1), { asOf: new Date(T0 + 3 * HOUR) });
      assert.equal(later.refreshId, 4);
    }));

  test('falls back to evaluating everyone when the earlier refresh cannot be started from', () =>
    withSeeded(async (wh) => {
      const features = featureSource(wh.dialect);
      const refresh = async (ms: number, options: { full?: boolean; defs?: typeof definitions } = {}) => {
        await refreshFeatures(wh, modelConfig(), { asOf: new Date(ms) });
        return refreshSegments(wh, options.defs ?? definitions, {
          asOf: new Date(ms),
          features,
          full: options.full,
        });
      };
      assert.equal((await refresh(T0)).mode, 'full'); // nothing to start from
      assert.equal((await refresh(T0)).mode, 'incremental'); // the same time again: only new events can count
      assert.equal((await refresh(T0 + HOUR)).mode, 'incremental');
      assert.equal((await refresh(T0 + 2 * HOUR, { full: true })).mode, 'full'); // asked for
      // A new label or description changes no membership: still incremental.
      const relabelled = definitions.map((d) => ({
        definition: { ...d.definition, label: `${d.definition.name} (renamed)`, description: 'edited' },
      }));
      assert.equal((await refresh(T0 + 2 * HOUR, { defs: relabelled })).mode, 'incremental');
      // A changed definition.
      const changed = definitions.map((d) =>
        d.definition.name === 'searched'
          ? {
              definition: SegmentDefinition.parse({
                name: 'searched',
                where: { performed: { event: 'Search', within: '2d' } },
              }),
            }
          : d,
      );
      assert.equal((await refresh(T0 + 3 * HOUR, { defs: changed })).mode, 'full');
      assert.equal((await refresh(T0 + 4 * HOUR, { defs: changed })).mode, 'incremental');
      // Deleted events (a retention purge, a privacy request): the carried memberships may rest on them.
      await wh.run("DELETE FROM events WHERE user_id = 'quiet'");
      assert.equal((await refresh(T0 + 5 * HOUR, { defs: changed })).mode, 'full');
      // The feature snapshot the last refresh read was rewritten since.
      await wh.run("UPDATE features SET lifecycle_stage = 'at risk' WHERE as_of = ?", [
        new Date(T0 + 5 * HOUR),
      ]);
      const rewritten = await refresh(T0 + 6 * HOUR, { defs: changed });
      assert.equal(rewritten.mode, 'full');
      assert.deepEqual(await members(wh), await evaluated(wh, new Date(T0 + 6 * HOUR), changed));
    }));
});
