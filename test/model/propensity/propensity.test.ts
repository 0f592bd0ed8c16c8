import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openWarehouse } from '../../../src/engine/open.js';
import { ingestMessages } from '../../../src/instrument/ingest-messages.js';
import { modelConfig } from '../../../src/model/model-config.js';
import { fitLogistic, predictLogistic } from '../../../src/model/propensity/logistic.js';
import { auc, backtest, type RocPoint, rocCurve } from '../../../src/model/propensity/metrics.js';
import { fitPropensity, scorePropensity } from '../../../src/model/propensity/propensity.js';
import { simulateChurnPanel } from '../../../src/model/propensity/simulate-churn.js';
import { snapshotFrame } from '../../../src/model/propensity/training-frame.js';
import { refreshFeatures } from '../../../src/model/refresh-features.js';
import { createRng } from '../../../src/shared/seeded-random.js';

const DAY = 86_400_000;

describe('logistic regression and metrics', () => {
  test('recovers the coefficients of a known logistic model', () => {
    const rng = createRng(7, 0);
    const n = 40_000;
    const a = new Float64Array(n);
    const b = new Float64Array(n);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      a[i] = rng.normal();
      b[i] = rng.normal();
      const p = 1 / (1 + Math.exp(-(-0.5 + 1.5 * a[i]! - 0.8 * b[i]!)));
      y[i] = rng.chance(p) ? 1 : 0;
    }
    const m = fitLogistic({ columns: ['a', 'b'], values: [a, b], labels: y }, { lambda: 1e-6 });
    // Coefficients on standardised columns: divide by the column sd to get the natural scale.
    const wa = m.weights[0]! / m.sds[0]!;
    const wb = m.weights[1]! / m.sds[1]!;
    const intercept = m.intercept - wa * m.means[0]! - wb * m.means[1]!;
    assert.ok(Math.abs(wa - 1.5) < 0.06, `a: ${wa}`);
    assert.ok(Math.abs(wb + 0.8) < 0.05, `b: ${wb}`);
    assert.ok(Math.abs(intercept + 0.5) < 0.05, `intercept: ${intercept}`);
    const p = predictLogistic(m, [a, b]);
    assert.ok(p.every((x) => x > 0 && x < 1));
  });

  test('AUC by ranks: perfect, reversed, ties and a hand-counted case', () => {
    assert.equal(auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), 1);
    assert.equal(auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]), 0);
    assert.equal(auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]), 0.5);
    // Pairs (pos, neg): (0.4 vs 0.1 ✓, 0.4 vs 0.6 ✗), (0.7 vs 0.1 ✓, 0.7 vs 0.6 ✓) → 3/4.
    assert.equal(auc([0.1, 0.4, 0.6, 0.7], [0, 1, 0, 1]), 0.75);
    const b = backtest([0.9, 0.8, 0.1, 0.2, 0.3, 0.15, 0.05, 0.4, 0.35, 0.6], [1, 1, 0, 0, 0, 0, 0, 1, 0, 0]);
    assert.equal(b.calibration.length, 10);
    assert.equal(b.calibration[0]!.observedRate, 1);
    assert.ok(Math.abs(b.topDecileLift - 1 / 0.3) < 1e-12);
  });

  test('the ROC curve runs from (0, 0) to (1, 1), moves ties together, and its area is the AUC', () => {
    const area = (c: RocPoint[]) =>
      c.slice(1).reduce((s, q, i) => {
        const p = c[i]!;
        return (
          s + ((q.falsePositiveRate - p.falsePositiveRate) * (q.truePositiveRate + p.truePositiveRate)) / 2
        );
      }, 0);
    const small = { p: [0.1, 0.4, 0.6, 0.7], y: [0, 1, 0, 1] };
    assert.deepEqual(
      rocCurve(small.p, small.y).map((q) => [q.falsePositiveRate, q.truePositiveRate]),
      [
        [0, 0],
        [0, 0.5],
        [0.5, 0.5],
        [0.5, 1],
        [1, 1],
      ],
    );
    // Equal scores are one step of the curve (the diagonal), as AUC counts a tie one half.
    assert.deepEqual(rocCurve([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]).length, 2);
    assert.deepEqual(rocCurve([0.2, 0.3], [1, 1]), []);
    // 20,000 noisy scores: thinned to a few hundred points at most, with the area still the AUC within 0.01.
    const rng = createRng(5, 0);
    const y = Array.from({ length: 20_000 }, () => (rng.float() < 0.3 ? 1 : 0));
    const p = y.map((l) => 1 / (1 + Math.exp(-(l * 1.2 + rng.float() * 2 - 1))));
    const curve = rocCurve(p, y);
    assert.ok(curve.length <= 202, `${curve.length} points`);
    assert.deepEqual(curve.at(-1), { falsePositiveRate: 1, truePositiveRate: 1 });
    assert.ok(Math.abs(area(curve) - auc(p, y)) < 0.01, `area ${area(curve)} against AUC ${auc(p, y)}`);
    assert.deepEqual(backtest(p, y).roc, curve);
  });
});

describe('churn propensity on a panel with known churn behaviour', async () => {
  const panel = simulateChurnPanel({ people: 6000, periods: 7, seed: 11 });
  const start = panel.start.getTime();
  const at = (day: number) => new Date(start + day * DAY);
  const config = modelConfig({});
  const wh = await openWarehouse({ path: ':memory:' });
  await ingestMessages(wh, panel.messages, { source: 'test' });

  test('the backtest AUC is within 0.03 of the oracle’s on the same people and labels', async () => {
    const result = await fitPropensity(wh, {
      target: 'churn',
      horizon: '30d',
      trainAsOf: [at(60), at(90), at(120), at(150)],
      testAsOf: at(180),
      config,
    });
    const test = await snapshotFrame(wh, {
      target: 'churn',
      horizon: '30d',
      asOf: at(180),
      withLabels: true,
      config,
    });
    const byId = new Map(panel.people.map((p) => [p.userId, p]));
    const oracle = test.personIds.map((id) => panel.oracle(byId.get(id)!));
    const oracleAuc = auc(oracle, test.labels);
    assert.ok(result.backtest.people === test.labels.length);
    assert.ok(
      oracleAuc - result.backtest.auc <= 0.03,
      `model AUC ${result.backtest.auc.toFixed(4)} vs oracle ${oracleAuc.toFixed(4)}`,
    );
    assert.ok(result.backtest.auc > 0.6, 'the model learned something');
    // Calibrated: mean predicted within 0.05 of the observed rate.
    const meanPredicted =
      result.backtest.calibration.reduce((s, c) => s + c.meanPredicted * c.people, 0) /
      result.backtest.people;
    assert.ok(Math.abs(meanPredicted - result.backtest.baseRate) < 0.05);
  });

  test('a training snapshot whose label window reaches into the test period is refused', async () => {
    await assert.rejects(
      fitPropensity(wh, { target: 'churn', horizon: '30d', trainAsOf: [at(160)], testAsOf: at(180), config }),
      /learn from the test period/,
    );
  });

  test('no event inside a label window feeds a feature', async () => {
    // Features at T, then events planted inside (T, T + 30d] that would move every feature if they leaked.
    const T = at(120);
    const before = await snapshotFrame(wh, {
      target: 'churn',
      horizon: '30d',
      asOf: T,
      withLabels: true,
      config,
    });
    const victims = before.personIds.filter((_, i) => before.labels[i] === 1).slice(0, 50);
    assert.ok(victims.length > 10);
    const planted = victims.flatMap((userId, j) =>
      ['Order Completed', 'Ticket Created', 'Application Opened', 'Feature Used', 'Pricing Viewed'].map(
        (event, e) => ({
          type: 'track',
          event,
          userId,
          properties: { revenue: 5000, ticket_id: `leak${j}-${e}`, feature: 'reports' },
          timestamp: new Date(T.getTime() + (1 + e) * 3_600_000).toISOString(),
          messageId: `leak-${j}-${e}`,
        }),
      ),
    );
    await ingestMessages(wh, planted, { source: 'test' });
    await refreshFeatures(wh, config, { asOf: T, full: true });
    const after = await snapshotFrame(wh, {
      target: 'churn',
      horizon: '30d',
      asOf: T,
      withLabels: true,
      config,
    });
    assert.deepEqual(after.personIds, before.personIds);
    // Equal up to rounding: DuckDB's parallel sums add the decayed scores in a different order from run to run, which
    // moves the last bit or two. A leaked event would move a value by far more (revenue 5000, five events per person).
    for (let j = 0; j < before.columns.length; j++) {
      const was = before.values[j]!;
      const now = after.values[j]!;
      assert.equal(now.length, was.length);
      for (let i = 0; i < was.length; i++) {
        const a = now[i]!;
        const b = was[i]!;
        const same = Object.is(a, b) || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
        assert.ok(same, `feature ${before.columns[j]} changed for ${before.personIds[i]}: ${b} → ${a}`);
      }
    }
    // The labels did see the planted events: those people are no longer churners.
    const idx = new Map(after.personIds.map((id, i) => [id, i]));
    for (const v of victims) assert.equal(after.labels[idx.get(v)!], 0);
  });

  test('scores land in person_scores, one per person in the population', async () => {
    const s = await scorePropensity(wh, { target: 'churn', asOf: at(180), config });
    const rows = await wh.query<{ n: number; lo: number; hi: number }>(
      `SELECT count(*)::INTEGER AS n, min(value) AS lo, max(value) AS hi FROM person_scores
       WHERE score = 'churn_probability' AND as_of = ?`,
      [at(180)],
    );
    assert.equal(rows[0]!.n, s.people);
    assert.ok(rows[0]!.lo > 0 && rows[0]!.hi < 1);
  });

  test('close', async () => {
    await wh.close();
  });
});
