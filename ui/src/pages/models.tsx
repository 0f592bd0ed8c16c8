import * as Plot from '@observablehq/plot';
import { ApiError, api } from '../api';
import { countAxis } from '../components/axes';
import { Chart } from '../components/chart';
import { fmt, Loaded, useData } from '../components/data';
import { DataTable } from '../components/table';
import { PropensityBacktest, type PropensityFitView } from './models-backtest';
import { Clusters, type ClustersFitView } from './models-clusters';

interface Fit {
  id: string;
  model: string;
  fittedAt: string;
  timeUnit: string | null;
  options: Record<string, unknown>;
  params: Record<string, unknown>;
  standardErrors: Record<string, number> | null;
  logLikelihood: number | null;
  people: number;
  diagnostics: {
    calibration?: { actualRepeatPurchases: number; expectedRepeatPurchases: number };
    frequency?: { x: string; actualPeople: number; expectedPeople: number }[];
    [k: string]: unknown;
  };
}

/** A model's last fit, or null when it has not been fitted (the page says how). */
async function lastFit(name: string): Promise<Fit | null> {
  try {
    return await api.get<Fit>(`/api/v1/models/${name}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

interface Bin {
  from: number;
  to: number;
  people: number;
}
interface Distributions {
  asOf: string | null;
  people: number;
  pAlive: Bin[];
  meanPAlive: number | null;
  clv: Bin[];
  clvHorizon: string | null;
  totalClv: number | null;
}

function Histogram(props: { title: string; bins: Bin[]; label: string; format: (x: number) => string }) {
  const rows = props.bins.map((b, k) => ({
    ...b,
    k,
    range: `${props.format(b.from)}–${props.format(b.to)}`,
  }));
  return (
    <Chart
      title={props.title}
      draw={(width) =>
        Plot.plot({
          width,
          height: 220,
          marginLeft: 60,
          x: { label: props.label, tickFormat: (x: number) => props.format(x) },
          y: countAxis(
            'people',
            rows.map((r) => r.people),
          ),
          marks: [
            Plot.rectY(rows, { x1: 'from', x2: 'to', y: 'people', fill: '#3b6ea8', inset: 0.5 }),
            Plot.ruleY([0]),
          ],
        })
      }
      table={
        <DataTable
          caption={`${props.title} (the last bin holds everything above it)`}
          rows={rows}
          columns={[
            { label: props.label, value: (b) => b.range },
            { label: 'People', value: (b) => fmt.n(b.people), numeric: true },
          ]}
        />
      }
    />
  );
}

/** The latest scoring: how P(alive) and CLV spread over the customers. */
function DistributionsSection() {
  const state = useData(() => api.get<Distributions>('/api/v1/models/predictions/distribution'), []);
  return (
    <section aria-labelledby="dist-title">
      <h2 id="dist-title">Scores: P(alive) and lifetime value</h2>
      <Loaded state={state}>
        {(d) =>
          d.asOf === null ? (
            <p class="muted">Nobody is scored yet: run `segflow models score` after fitting BG/NBD.</p>
          ) : (
            <>
              <p>
                {fmt.n(d.people)} customers scored {fmt.date(d.asOf)}: mean P(alive){' '}
                {fmt.num(d.meanPAlive, 2)}
                {d.totalClv !== null
                  ? `, lifetime value over ${d.clvHorizon ?? '—'} ${fmt.money(d.totalClv)} in all`
                  : ''}
                .
              </p>
              <Histogram
                title="Customers by P(alive)"
                bins={d.pAlive}
                label="P(alive)"
                format={(x) => x.toFixed(2)}
              />
              {d.clv.length ? (
                <Histogram
                  title="Customers by lifetime value"
                  bins={d.clv}
                  label="CLV ($)"
                  format={(x) => fmt.money(x)}
                />
              ) : (
                <p class="muted">No lifetime value: score with a Gamma-Gamma fit to get CLV.</p>
              )}
            </>
          )
        }
      </Loaded>
    </section>
  );
}

function Params(props: { fit: Fit }) {
  const rows = Object.entries(props.fit.params).filter(([, v]) => typeof v === 'number') as [
    string,
    number,
  ][];
  return (
    <DataTable
      caption={`Parameters (${fmt.n(props.fit.people)} people, fitted ${fmt.date(props.fit.fittedAt)})`}
      rows={rows}
      columns={[
        { label: 'Parameter', value: ([k]) => k },
        { label: 'Estimate', value: ([, v]) => fmt.num(v, 4), numeric: true },
        { label: 'Standard error', value: ([k]) => fmt.num(props.fit.standardErrors?.[k], 4), numeric: true },
      ]}
    />
  );
}

export function ModelsPage() {
  const state = useData(async () => {
    const [bgnbd, gammagamma, clusters, churn, purchase, propensity] = await Promise.all(
      ['bgnbd', 'gammagamma', 'clusters', 'churn', 'purchase', 'propensity'].map(lastFit),
    );
    return {
      bgnbd,
      gammagamma,
      clusters,
      propensities: [churn, purchase, propensity].filter((f) => f !== null),
    };
  }, []);
  return (
    <>
      <h1>Models</h1>
      <Loaded state={state}>
        {({ bgnbd, gammagamma, clusters, propensities }) => {
          const freq = (bgnbd?.diagnostics.frequency ?? []).flatMap((f) => [
            { x: f.x, people: f.actualPeople, series: 'actual' },
            { x: f.x, people: f.expectedPeople, series: 'expected' },
          ]);
          return (
            <>
              <h2>Purchases: BG/NBD</h2>
              {bgnbd ? (
                <>
                  <Params fit={bgnbd} />
                  {freq.length ? (
                    <Chart
                      title="People by repeat purchases: actual against expected"
                      draw={(width) =>
                        Plot.plot({
                          width,
                          height: 260,
                          marginLeft: 60,
                          // Actual and expected side by side in each bucket (stacked, they would add up).
                          fx: {
                            label: 'repeat purchases',
                            domain: bgnbd.diagnostics.frequency!.map((f) => f.x),
                          },
                          x: { axis: null, domain: ['actual', 'expected'] },
                          y: { grid: true, label: 'people' },
                          color: {
                            legend: true,
                            domain: ['actual', 'expected'],
                            range: ['#3b6ea8', '#e39c3b'],
                          },
                          marks: [
                            Plot.barY(freq, { fx: 'x', x: 'series', y: 'people', fill: 'series' }),
                            Plot.ruleY([0]),
                          ],
                        })
                      }
                      table={
                        <DataTable
                          caption="People by repeat purchases"
                          rows={bgnbd.diagnostics.frequency!}
                          columns={[
                            { label: 'Repeat purchases', value: (f) => f.x },
                            { label: 'Actual people', value: (f) => fmt.n(f.actualPeople), numeric: true },
                            {
                              label: 'Expected people',
                              value: (f) => fmt.num(f.expectedPeople, 1),
                              numeric: true,
                            },
                          ]}
                        />
                      }
                    />
                  ) : null}
                </>
              ) : (
                <p class="muted">Not fitted yet: run `segflow models fit bgnbd`.</p>
              )}
              <DistributionsSection />
              <h2>Order value: Gamma-Gamma</h2>
              {gammagamma ? <Params fit={gammagamma} /> : <p class="muted">Not fitted yet.</p>}
              <h2>Propensity backtests</h2>
              {propensities.length ? (
                propensities.map((f) => <PropensityBacktest fit={f as PropensityFitView} />)
              ) : (
                <p class="muted">
                  No propensity model yet: run `segflow models fit churn` (or purchase) with training and test
                  snapshots.
                </p>
              )}
              <h2>Clusters</h2>
              {clusters ? (
                <Clusters fit={clusters as unknown as ClustersFitView} />
              ) : (
                <p class="muted">Not fitted yet: run `segflow models fit clusters`.</p>
              )}
            </>
          );
        }}
      </Loaded>
    </>
  );
}
