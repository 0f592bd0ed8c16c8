import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openWarehouse } from '../../../src/engine/open.js';
import { type ClusterColumn, clusterColumns, clusterQuery } from '../../../src/model/clusters/clusters.js';
import { createRng } from '../../../src/shared/seeded-random.js';
import { adjustedRandIndex } from '../../helpers/ari.js';

const COLUMNS: ClusterColumn[] = [
  { column: 'frequency', high: 'frequent', low: 'infrequent' },
  { column: 'spend', high: 'high spend', low: 'low spend' },
  { column: 'recency_days', high: 'lapsed', low: 'recent' },
];

/**
 * Four planted groups on very different scales (orders per month, dollars, days), normal noise around each centre.
 * The truth is which group generated each row.
 */
function planted(perGroup: number, seed: number) {
  const centres = [
    { frequency: 8, spend: 20, recency_days: 3 }, // frequent, low spend, recent
    { frequency: 1, spend: 400, recency_days: 10 }, // infrequent, high spend
    { frequency: 1, spend: 30, recency_days: 200 }, // lapsed
    { frequency: 4, spend: 150, recency_days: 60 }, // average-ish
  ];
  const spread = { frequency: 0.6, spend: 25, recency_days: 12 };
  const rng = createRng(seed, 0, 99);
  const n = centres.length * perGroup;
  const data = {
    frequency: new Float64Array(n),
    spend: new Float64Array(n),
    recency_days: new Float64Array(n),
  };
  const truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    // interleave groups so row order says nothing
    const g = i % centres.length;
    truth[i] = g;
    for (const k of ['frequency', 'spend', 'recency_days'] as const)
      data[k][i] = rng.normal(centres[g]![k], spread[k]);
  }
  return { data, truth };
}

describe('clusters on planted groups', () => {
  test('recovers the planted groups (adjusted Rand index ≥ 0.95) and chooses k = 4', async () => {
    const { data, truth } = planted(500, 7);
    const r = await clusterColumns(data, { columns: COLUMNS, kRange: { min: 2, max: 8 }, seed: 42 });
    assert.equal(r.k, 4, JSON.stringify(r.silhouetteByK));
    const ari = adjustedRandIndex(truth, r.assignment);
    assert.ok(ari >= 0.95, `ARI ${ari}`);
    assert.equal(
      r.clusters.reduce((s, c) => s + c.size, 0),
      2000,
    );
  });

  test('labels each cluster from its centroid in the caller’s words', async () => {
    const { data } = planted(500, 7);
    const r = await clusterColumns(data, { columns: COLUMNS, kRange: { min: 4, max: 4 }, seed: 1 });
    const labels = r.clusters.map((c) => c.label).sort();
    // Standardised centres: group 0 is high on frequency, low on spend and recency; group 1 high on spend; group 2
    // high on recency_days (lapsed) and low on frequency; group 3 near the mean on every column.
    assert.ok(labels.includes('frequent, low spend, recent'), labels.join(' | '));
    assert.ok(
      labels.some((l) => l.startsWith('infrequent, high spend')),
      labels.join(' | '),
    );
    assert.ok(
      labels.some((l) => l.endsWith('lapsed')),
      labels.join(' | '),
    );
    for (const c of r.clusters) {
      assert.ok(Math.abs(c.share - 0.25) < 0.02, `${c.label}: ${c.share}`);
      // the centroid is reported in the column's own units
      if (c.label === 'frequent, low spend, recent') assert.ok(Math.abs(c.centroid.frequency! - 8) < 0.2);
    }
  });

  test('the same seed gives the same clusters', async () => {
    const { data } = planted(300, 3);
    const a = await clusterColumns(data, { columns: COLUMNS, seed: 5 });
    const b = await clusterColumns(data, { columns: COLUMNS, seed: 5 });
    assert.deepEqual(a.assignment, b.assignment);
    assert.deepEqual(a.clusters, b.clusters);
    assert.deepEqual(a.silhouetteByK, b.silhouetteByK);
  });

  test('rows from a SQL query', async () => {
    const wh = await openWarehouse({ path: ':memory:' });
    try {
      const { data, truth } = planted(200, 11);
      await wh.run('CREATE TABLE f (person_id VARCHAR, frequency DOUBLE, spend DOUBLE, recency_days DOUBLE)');
      await wh.append(
        'f',
        ['person_id', 'frequency', 'spend', 'recency_days'],
        Array.from(truth, (_, i) => [`p${i}`, data.frequency[i]!, data.spend[i]!, data.recency_days[i]!]),
      );
      const r = await clusterQuery(wh, {
        sql: 'SELECT * FROM f ORDER BY person_id',
        idColumn: 'person_id',
        columns: COLUMNS,
        seed: 2,
      });
      const truthById = new Map(Array.from(truth, (g, i) => [`p${i}`, g]));
      assert.ok(
        adjustedRandIndex(
          r.ids.map((id) => truthById.get(id)!),
          r.assignment,
        ) >= 0.95,
      );
    } finally {
      await wh.close();
    }
  });

  test('a column with a missing value is refused with a hint', async () => {
    const data = { frequency: Float64Array.from([1, Number.NaN, 3]), spend: Float64Array.from([1, 2, 3]) };
    await assert.rejects(
      () => clusterColumns(data, { columns: COLUMNS.slice(0, 2) }),
      (e: Error & { code?: string; hint?: string }) => e.code === 'USAGE' && /coalesce/.test(e.hint ?? ''),
    );
  });
});

describe('adjusted Rand index (test helper)', () => {
  test('known values', async () => {
    assert.equal(adjustedRandIndex([0, 0, 1, 1], [1, 1, 0, 0]), 1);
    // Hand computation: contingency [[2,1],[0,1]] → index 1, row pairs 3+0, column pairs 1+1, expected 3·2/6 = 1,
    // max 2.5 → (1 − 1)/(2.5 − 1) = 0.
    assert.equal(adjustedRandIndex([0, 0, 0, 1], [0, 0, 1, 1]), 0);
  });
});
