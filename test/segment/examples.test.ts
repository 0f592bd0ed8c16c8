import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { writeGeneratedFiles } from '../../src/generate/index.js';
import { importFile } from '../../src/instrument/import/import-file.js';
import { featureSource } from '../../src/model/feature-catalog.js';
import { modelConfig } from '../../src/model/model-config.js';
import { fitPropensity, scorePropensity } from '../../src/model/propensity/propensity.js';
import { refreshFeatures } from '../../src/model/refresh-features.js';
import { loadDefinitions } from '../../src/segment/load-definitions.js';
import { refreshSegments, segmentMembers } from '../../src/segment/memberships.js';
import { tempDir } from '../helpers/temp.js';

/**
 * Every example segment in examples/segments runs on generated data; where the generator's hidden archetypes say
 * who a segment should find, its members are checked against them (a segment is useful when its members are far more
 * often of the intended kind than people in general).
 */
const EXAMPLES = new URL('../../examples/segments', import.meta.url).pathname;

async function generated(profile: 'ecommerce' | 'saas', people: number) {
  const dir = tempDir(`segflow-examples-${profile}-`);
  const out = join(dir, 'events.ndjson');
  const truthOut = join(dir, 'truth.ndjson');
  await writeGeneratedFiles({ people, days: 120, seed: 5, profile, out, truthOut });
  const wh = await openWarehouse({ path: ':memory:' });
  await importFile(wh, { path: out, rejectsPath: null });
  const archetype = new Map<string, string>();
  for (const line of readFileSync(truthOut, 'utf8').split('\n')) {
    if (!line) continue;
    const t = JSON.parse(line) as { personKey: string; archetype: string };
    archetype.set(t.personKey, t.archetype);
  }
  return { wh, archetype };
}

/** Share of the segment's members with the archetype, over the share among everyone: the segment's "lift". */
async function enrichment(wh: Warehouse, archetype: Map<string, string>, segment: string, kind: string) {
  const { members, size } = await segmentMembers(wh, segment, { limit: 1_000_000 });
  const inSegment = members.filter((m) => archetype.get(m.personId) === kind).length / Math.max(1, size);
  const overall = [...archetype.values()].filter((a) => a === kind).length / archetype.size;
  return { size, inSegment, overall, ratio: inSegment / overall };
}

test('example segments run on generated shop data and find the archetypes they are meant for', async () => {
  const loaded = loadDefinitions(EXAMPLES);
  assert.deepEqual(loaded.problems, []);
  assert.equal(loaded.definitions.length, 22);
  const { wh, archetype } = await generated('ecommerce', 1500);
  try {
    const asOf = new Date('2026-04-30T00:00:00Z');
    await refreshFeatures(wh, modelConfig(), { asOf });
    // likely-to-churn reads the churn model's scores: train on three earlier snapshots, backtest on a fourth.
    const day = (d: string) => new Date(`2026-${d}T00:00:00Z`);
    const churn = await fitPropensity(wh, {
      target: 'churn',
      horizon: '14d',
      trainAsOf: [day('03-05'), day('03-19'), day('04-02')],
      testAsOf: day('04-16'),
      config: modelConfig(),
    });
    assert.ok(churn.backtest.auc > 0.6, `churn AUC ${churn.backtest.auc}`);
    // Scored at the last snapshot whose population still holds the generator's churners (they all stop by mid-April);
    // segments at T read the latest scoring at or before T.
    await scorePropensity(wh, { target: 'churn', asOf: day('04-16'), config: modelConfig() });
    const r = await refreshSegments(wh, loaded.definitions, { asOf, features: featureSource(wh.dialect) });
    const size = new Map(r.segments.map((s) => [s.name, s.size]));
    // Every commerce example finds someone (the SaaS ones are checked on SaaS data below).
    for (const [name, n] of size) {
      if (['high-intent', 'at-risk-adoption', 'reports-power-users', 'teams-using-reports'].includes(name))
        continue;
      assert.ok(n > 0, `${name} has members`);
    }
    const champions = await enrichment(wh, archetype, 'champion', 'loyal_champion');
    assert.ok(
      champions.ratio >= 3,
      `champions are loyal champions ${champions.ratio.toFixed(1)}x as often as everyone`,
    );
    const recoverable = await enrichment(wh, archetype, 'recoverable', 'cart_abandoner');
    assert.ok(recoverable.ratio >= 2, `recoverable: cart abandoners ${recoverable.ratio.toFixed(1)}x`);
    const churners = await enrichment(wh, archetype, 'likely-to-churn', 'churning');
    assert.ok(churners.ratio >= 1.5, `likely to churn: churning archetype ${churners.ratio.toFixed(1)}x`);
    const fresh = await enrichment(wh, archetype, 'new-customers', 'new_customer');
    assert.ok(fresh.ratio >= 2.5, `new customers: ${fresh.ratio.toFixed(1)}x`);
    const holdout = size.get('holdout')! / archetype.size;
    assert.ok(holdout > 0.07 && holdout < 0.13, `holdout is about 10% (${(100 * holdout).toFixed(1)}%)`);
    assert.equal(
      size.get('champions-treated'),
      size.get('champion')! -
        (
          await wh.query<{ n: number }>(
            `SELECT count(*) AS n FROM segment_memberships a JOIN segment_memberships b USING (person_id)
             WHERE a.segment = 'champion' AND b.segment = 'holdout' AND a.exited_at IS NULL AND b.exited_at IS NULL`,
          )
        )[0]!.n,
      'champions-treated = champions outside the holdout',
    );
  } finally {
    await wh.close();
  }
});

test('SaaS examples: at-risk adoption finds trials that never activate; high intent finds pricing-page regulars', async () => {
  const loaded = loadDefinitions(EXAMPLES);
  const { wh, archetype } = await generated('saas', 300);
  try {
    const asOf = new Date('2026-03-31T00:00:00Z');
    await refreshFeatures(wh, modelConfig(), { asOf });
    const r = await refreshSegments(
      wh,
      loaded.definitions.filter((d) =>
        ['at-risk-adoption', 'high-intent', 'reports-power-users', 'teams-using-reports'].includes(
          d.definition.name,
        ),
      ),
      { asOf, features: featureSource(wh.dialect) },
    );
    assert.ok(
      r.segments.every((s) => s.size > 0),
      JSON.stringify(r.segments),
    );
    const atRisk = await enrichment(wh, archetype, 'at-risk-adoption', 'trial_never_activates');
    assert.ok(atRisk.ratio >= 2, `at-risk adoption: non-activating trials ${atRisk.ratio.toFixed(1)}x`);
  } finally {
    await wh.close();
  }
});
