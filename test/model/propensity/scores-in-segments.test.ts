import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openWarehouse } from '../../../src/engine/open.js';
import { ingestMessages } from '../../../src/instrument/ingest-messages.js';
import { featureSource } from '../../../src/model/feature-catalog.js';
import { modelConfig } from '../../../src/model/model-config.js';
import { fitClusterModel } from '../../../src/model/predict/model-fits.js';
import { fitPropensity, scorePropensity } from '../../../src/model/propensity/propensity.js';
import { simulateChurnPanel } from '../../../src/model/propensity/simulate-churn.js';
import { compileSegments } from '../../../src/segment/compile.js';
import { SegmentDefinition } from '../../../src/segment/definition.js';

const DAY = 86_400_000;

test('every score is a feature: predicted.churn_probability and cluster in segment definitions', async () => {
  const panel = simulateChurnPanel({ people: 800, periods: 5, seed: 2 });
  const at = (day: number) => new Date(panel.start.getTime() + day * DAY);
  const config = modelConfig({});
  const wh = await openWarehouse({ path: ':memory:' });
  try {
    await ingestMessages(wh, panel.messages, { source: 'test' });
    await fitPropensity(wh, {
      target: 'churn',
      horizon: '30d',
      trainAsOf: [at(60), at(90)],
      testAsOf: at(120),
      config,
    });
    await scorePropensity(wh, { target: 'churn', asOf: at(150), config });
    await fitClusterModel(wh, {
      sql: 'SELECT person_id, engagement_score, support_tickets FROM features WHERE as_of = ?',
      params: [at(150)],
      idColumn: 'person_id',
      columns: [
        { column: 'engagement_score', high: 'engaged', low: 'quiet' },
        { column: 'support_tickets', high: 'many tickets', low: 'few tickets' },
      ],
      kRange: { min: 3, max: 3 },
      seed: 4,
      assignAsOf: at(150),
    });
    const [biggest] = await wh.query<{ label: string }>(
      `SELECT label FROM person_scores WHERE score = 'cluster' GROUP BY label ORDER BY count(*) DESC LIMIT 1`,
    );
    const defs = [
      SegmentDefinition.parse({
        name: 'likely_churners',
        where: { feature: 'predicted.churn_probability', gt: 0.3 },
      }),
      SegmentDefinition.parse({
        name: 'main_cluster',
        where: { feature: 'cluster', equals: biggest!.label },
      }),
      SegmentDefinition.parse({ name: 'cluster_zero', where: { feature: 'cluster.id', equals: 0 } }),
    ];
    const c = compileSegments(wh.dialect, defs, { asOf: at(151), features: featureSource(wh.dialect) });
    const rows = await wh.query<Record<string, unknown>>(c.sql, c.params);
    const members = (col: string) =>
      rows
        .filter((r) => r[col] === true)
        .map((r) => String(r.person_id))
        .sort();
    const expected = async (sql: string) =>
      (await wh.query<{ person_id: string }>(sql)).map((r) => r.person_id).sort();
    const churners = await expected(
      `SELECT person_id FROM person_scores WHERE score = 'churn_probability' AND value > 0.3`,
    );
    assert.ok(churners.length > 10, 'some people are likely churners');
    assert.deepEqual(members('s0'), churners);
    const cluster = await expected(
      `SELECT person_id FROM person_scores WHERE score = 'cluster' AND label = '${biggest!.label.replaceAll("'", "''")}'`,
    );
    assert.deepEqual(members('s1'), cluster);
    assert.deepEqual(members('s2'), cluster, 'cluster 0 is the largest');
    // Before any scoring the scores do not exist: nobody qualifies.
    const early = compileSegments(wh.dialect, defs, { asOf: at(100), features: featureSource(wh.dialect) });
    const earlyRows = await wh.query<Record<string, unknown>>(early.sql, early.params);
    assert.ok(earlyRows.length > 0 && earlyRows.every((r) => r.s0 === false && r.s1 === false));
  } finally {
    await wh.close();
  }
});
