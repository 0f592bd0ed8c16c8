import type { Warehouse } from '../engine/warehouse.js';
import { modelConfig } from '../model/model-config.js';
import { fitClusterModel, fitPurchaseModels, type StoredFit } from '../model/predict/model-fits.js';
import { scorePredictions } from '../model/predict/score.js';
import { fitPropensity, scorePropensity } from '../model/propensity/propensity.js';

const n = (x: number) => x.toLocaleString('en-US');
const say = (line = '') => process.stdout.write(`${line}\n`);
const DAY = 86_400_000;
const fixed = (x: unknown, digits = 3) => Number(x).toFixed(digits);

/**
 * Model, predictive: BG/NBD and Gamma-Gamma on every purchase up to T, P(alive) and 12-month CLV per person, a churn
 * model trained on earlier snapshots with its backtest, and clusters of the customers — every score a feature that
 * segments can use (predicted.*, cluster). Returns the time the churn scores are as of.
 */
export async function predictSection(
  wh: Warehouse,
  options: { asOf: Date; firstEvent: Date; churnHorizonDays: number },
): Promise<void> {
  const purchases = { events: ['Order Completed'], sameDayAsOne: true };
  // Both on one read of the purchase summaries.
  const [bg, gg] = (await fitPurchaseModels(wh, {
    models: ['bgnbd', 'gammagamma'],
    purchases,
    window: { end: options.asOf },
    timeUnit: 'weeks',
  })) as [StoredFit, StoredFit];
  const p = bg.params as Record<string, number>;
  const q = gg.params as Record<string, number>;
  say(
    `\n   Predictive (Model): BG/NBD on ${n(bg.people)} customers, time in weeks — r ${fixed(p.r)}, α ${fixed(p.alpha)}, a ${fixed(p.a)}, b ${fixed(p.b)} (log-likelihood ${fixed(bg.logLikelihood, 1)})`,
  );
  say(`   Gamma-Gamma order values — p ${fixed(q.p)}, q ${fixed(q.q)}, γ ${fixed(q.gamma)}`);
  const scored = await scorePredictions(wh, {
    asOf: options.asOf,
    horizon: { value: 12, unit: 'weeks' },
    clv: { horizon: { value: 12, unit: 'months' }, discount: { rate: 0.01, per: 'months' } },
  });
  const d = wh.dialect;
  const [s] = await wh.query<{ alive: number; likely_gone: number; clv: number; top: number }>(
    `SELECT avg(p_alive) AS alive, ${d.aggregateIf('count(*)', 'p_alive < 0.3')} AS likely_gone, sum(clv) AS clv,
       ${d.aggregateIf('sum(clv)', `clv >= (SELECT ${d.quantile('clv', 0.9)} FROM predictions WHERE as_of = ?)`)} AS top
     FROM predictions WHERE as_of = ?`,
    [options.asOf, options.asOf],
  );
  say(
    `   scored ${n(scored.people)} customers: mean P(alive) ${fixed(s!.alive, 2)}, ${n(Number(s!.likely_gone))} with P(alive) < 0.3; 12-month CLV $${n(Math.round(s!.clv))}, ${fixed((100 * s!.top) / s!.clv, 0)}% of it in the top decile`,
  );

  // Churn: the last snapshot whose label window is complete is the backtest; three earlier ones train.
  const h = options.churnHorizonDays * DAY;
  const test = new Date(Math.floor((options.asOf.getTime() - h) / DAY) * DAY);
  const train = [3, 2, 1]
    .map((k) => new Date(test.getTime() - k * h))
    .filter((t) => t.getTime() - options.firstEvent.getTime() >= 2 * h);
  const cfg = modelConfig();
  if (train.length) {
    const churn = await fitPropensity(wh, {
      target: 'churn',
      horizon: `${options.churnHorizonDays}d`,
      trainAsOf: train,
      testAsOf: test,
      config: cfg,
    });
    const b = churn.backtest;
    say(
      `   churn in the next ${options.churnHorizonDays} days (${churn.model.kind === 'gbt' ? 'gradient-boosted trees' : 'logistic regression'}, chosen by cross-validated AUC, ${n(churn.trainRows)} training rows from ${train.length} snapshots): backtest on ${test.toISOString().slice(0, 10)} — AUC ${fixed(b.auc)}, top-decile lift ${b.topDecileLift.toFixed(1)}×, base rate ${(100 * b.baseRate).toFixed(1)}%`,
    );
    const sc = await scorePropensity(wh, { target: 'churn', asOf: test, config: cfg });
    say(`   churn probabilities for ${n(sc.people)} active people → predicted.churn_probability`);
  }
  const clusters = await fitClusterModel(wh, {
    // In person order: k-means++ starts from rows picked by position, and engines return unordered rows differently.
    sql: `SELECT person_id, rfm_frequency, rfm_monetary_avg, rfm_recency_days FROM features
          WHERE as_of = ? AND rfm_frequency > 0 ORDER BY person_id`,
    params: [options.asOf],
    idColumn: 'person_id',
    columns: [
      { column: 'rfm_frequency', high: 'frequent', low: 'occasional' },
      { column: 'rfm_monetary_avg', high: 'big baskets', low: 'small baskets' },
      { column: 'rfm_recency_days', high: 'lapsed', low: 'recent' },
    ],
    kRange: { min: 3, max: 6 },
    seed: 1,
    assignAsOf: options.asOf,
  });
  const cp = clusters.params as { k: number; clusters: { label: string; size: number }[] };
  say(
    `   ${cp.k} clusters of customers (k by silhouette): ${cp.clusters.map((c) => `${c.label || 'average'} ${n(c.size)}`).join(' · ')}`,
  );
}
