import * as Plot from '@observablehq/plot';
import { Chart } from '../components/chart';
import { fmt } from '../components/data';
import { DataTable } from '../components/table';

/**
 * A propensity model's backtest (churn, purchase, or a file's label), as `segflow models fit` stores it in the fit's
 * diagnostics: scored on people it was not trained on, then judged on what they did. Rates the engine could not
 * compute (an empty decile, one class only) arrive as null, JSON's form of NaN.
 */
export interface PropensityFitView {
  model: string;
  fittedAt: string;
  options: Record<string, unknown>;
  diagnostics: {
    backtest?: {
      people: number;
      positives: number;
      baseRate: number | null;
      auc: number | null;
      logLoss: number | null;
      topDecileLift: number | null;
      calibration: {
        decile: number;
        people: number;
        meanPredicted: number | null;
        observedRate: number | null;
      }[];
      /** Fits stored before the curve was kept have none. */
      roc?: { falsePositiveRate: number; truePositiveRate: number }[];
    };
    choice?: { requested: string; chosen: string };
    [k: string]: unknown;
  };
}

const TITLES: Record<string, string> = {
  churn: 'Churn',
  purchase: 'Purchase',
  propensity: 'Propensity (from a file)',
};

/** What the model predicts, in words, from the options it was fitted with. */
function target(fit: PropensityFitView): string {
  const o = fit.options;
  if (fit.model === 'propensity')
    return `the label ${String(o.label ?? '?')} of ${String(o.file ?? 'a file')}`;
  const verb = fit.model === 'churn' ? 'going quiet' : 'buying';
  return `${verb} within ${String(o.horizon ?? '?')} of ${fmt.day(String(o.testAsOf ?? ''))}`;
}

const ratio = (x: number | null | undefined) =>
  x === null || x === undefined || Number.isNaN(x) ? '—' : `${x.toFixed(2)}×`;

export function PropensityBacktest(props: { fit: PropensityFitView }) {
  const { fit } = props;
  const b = fit.diagnostics.backtest;
  const title = TITLES[fit.model] ?? fit.model;
  if (!b) return <p class="muted">This {fit.model} fit has no backtest.</p>;
  const deciles = b.calibration.map((c) => ({
    ...c,
    lift: c.observedRate !== null && b.baseRate ? c.observedRate / b.baseRate : null,
  }));
  const roc = b.roc ?? [];
  return (
    <section aria-labelledby={`backtest-${fit.model}`}>
      <h3 id={`backtest-${fit.model}`}>{title}</h3>
      <p data-testid={`backtest-${fit.model}-summary`}>
        Predicts {target(fit)};{' '}
        {fit.diagnostics.choice?.chosen === 'gbt' ? 'gradient-boosted trees' : 'logistic regression'}, fitted{' '}
        {fmt.date(fit.fittedAt)}. Backtest on {fmt.n(b.people)} people ({fmt.n(b.positives)} positive, base
        rate {fmt.pct(b.baseRate)}): AUC {fmt.num(b.auc, 3)}, log loss {fmt.num(b.logLoss, 3)}, top-decile
        lift {ratio(b.topDecileLift)}.
      </p>
      {roc.length ? (
        <Chart
          title={`${title}: ROC curve`}
          draw={(width) =>
            Plot.plot({
              width: Math.min(width, 420),
              height: 360,
              x: { label: 'false positive rate →', domain: [0, 1], grid: true },
              y: { label: '↑ true positive rate', domain: [0, 1], grid: true },
              marks: [
                // Chance: a model that ranks at random runs along the diagonal.
                Plot.line(
                  [
                    [0, 0],
                    [1, 1],
                  ],
                  { stroke: '#8a94a3', strokeDasharray: '4 3' },
                ),
                Plot.line(roc, {
                  x: 'falsePositiveRate',
                  y: 'truePositiveRate',
                  stroke: '#3b6ea8',
                  strokeWidth: 2,
                }),
              ],
            })
          }
          table={
            <DataTable
              caption={`${title}: ROC curve points (AUC ${fmt.num(b.auc, 3)})`}
              rows={roc}
              columns={[
                { label: 'False positive rate', value: (p) => fmt.pct(p.falsePositiveRate), numeric: true },
                { label: 'True positive rate', value: (p) => fmt.pct(p.truePositiveRate), numeric: true },
              ]}
            />
          }
        />
      ) : (
        <p class="muted">No ROC curve in this fit: fit it again to keep one.</p>
      )}
      <Chart
        title={`${title}: calibration by decile`}
        draw={(width) =>
          Plot.plot({
            width,
            height: 260,
            marginLeft: 60,
            x: {
              label: 'decile of predicted probability (1 = highest)',
              domain: deciles.map((d) => d.decile),
            },
            // `percent` scales rates to 0–100 before the domain applies.
            y: { label: 'rate (%)', grid: true, percent: true, domain: [0, 100] },
            color: { legend: true, domain: ['predicted', 'observed'], range: ['#e39c3b', '#3b6ea8'] },
            marks: [
              Plot.barY(deciles, {
                x: 'decile',
                y: 'observedRate',
                fill: () => 'observed',
                insetLeft: 4,
                insetRight: 4,
              }),
              Plot.dot(deciles, { x: 'decile', y: 'meanPredicted', fill: () => 'predicted', r: 5 }),
              Plot.ruleY([0]),
            ],
          })
        }
        table={
          <DataTable
            caption={`${title}: predicted against observed rate per decile`}
            rows={deciles}
            columns={[
              { label: 'Decile', value: (d) => String(d.decile), numeric: true },
              { label: 'People', value: (d) => fmt.n(d.people), numeric: true },
              { label: 'Mean predicted', value: (d) => fmt.pct(d.meanPredicted), numeric: true },
              { label: 'Observed rate', value: (d) => fmt.pct(d.observedRate), numeric: true },
            ]}
          />
        }
      />
      <Chart
        title={`${title}: lift by decile`}
        draw={(width) =>
          Plot.plot({
            width,
            height: 240,
            marginLeft: 60,
            x: {
              label: 'decile of predicted probability (1 = highest)',
              domain: deciles.map((d) => d.decile),
            },
            y: { label: 'lift (observed rate ÷ base rate)', grid: true },
            marks: [
              Plot.barY(deciles, { x: 'decile', y: 'lift', fill: '#3b6ea8', insetLeft: 4, insetRight: 4 }),
              // 1× is no better than picking people at random.
              Plot.ruleY([1], { stroke: '#8a94a3', strokeDasharray: '4 3' }),
              Plot.ruleY([0]),
            ],
          })
        }
        table={
          <DataTable
            caption={`${title}: lift per decile over the base rate of ${fmt.pct(b.baseRate)}`}
            rows={deciles}
            columns={[
              { label: 'Decile', value: (d) => String(d.decile), numeric: true },
              { label: 'Observed rate', value: (d) => fmt.pct(d.observedRate), numeric: true },
              { label: 'Lift', value: (d) => ratio(d.lift), numeric: true },
            ]}
          />
        }
      />
    </section>
  );
}
