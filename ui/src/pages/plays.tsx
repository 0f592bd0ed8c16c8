import * as Plot from '@observablehq/plot';
import { useState } from 'preact/hooks';
import { api, enc, qs } from '../api';
import { countAxis } from '../components/axes';
import { Chart } from '../components/chart';
import { ErrorNote, fmt, Loaded, useData } from '../components/data';
import { DataTable } from '../components/table';
import { href, type Route } from '../router';

interface PlayRow {
  name: string;
  segment: string;
  offer: string;
  channel: string;
  destination: string | null;
  trigger: string;
  cadence: string | null;
  priority: number;
  kpi: string | null;
  holdout: number;
}
interface Estimate {
  estimate: number;
  ci: { lower: number; upper: number };
  pValue: number;
  significant: boolean;
}
interface KpiRow {
  kpi: string;
  segment: string | null;
  pending: number;
  lift: {
    relative: Estimate | null;
    absolute: Estimate;
    control: { n: number };
    treatment: { n: number };
  } | null;
  cuped: { absolute?: Estimate } | null;
  holmP: number | null;
  benjaminiHochbergP: number | null;
  note?: string;
}
interface Report {
  play: string;
  asOf: string;
  arms: { arm: string; people: number }[];
  srm: { pValue: number; mismatch?: boolean } | null;
  holdoutShare: number | null;
  rows: KpiRow[];
  mde: { absolute: number; relative: number | null; people: number } | null;
}

interface DeliveryDays {
  days: { day: string; status: string; deliveries: number }[];
  dead: number;
}
interface Delivery {
  id: number;
  person_id: string;
  status: string;
  destination: string | null;
  attempts: number;
  last_error: string | null;
  created_at: string;
}

const STATUS_COLOURS: [string, string][] = [
  ['sent', '#2f7d4f'],
  ['pending', '#3b6ea8'],
  ['deferred', '#8fb3d9'],
  ['withheld', '#9a9a9a'],
  ['blocked', '#e39c3b'],
  ['skipped', '#c9c9c9'],
  ['dead', '#a4161a'],
];

/** A play's deliveries by status per day, and its dead letters with a retry (admins). */
function DeliveriesSection(props: { play: string; admin: boolean }) {
  const state = useData(
    async () => ({
      daily: await api.get<DeliveryDays>(`/api/v1/deliveries/daily${qs({ play: props.play })}`),
      dead: await api.get<{ deliveries: Delivery[] }>(
        `/api/v1/deliveries${qs({ play: props.play, status: 'dead', limit: 50 })}`,
      ),
    }),
    [props.play],
  );
  const [done, setDone] = useState('');
  const [error, setError] = useState<unknown>(null);
  const retry = async (body: { id: number } | { allDead: true }, what: string) => {
    if (!window.confirm(`Queue ${what} again?`)) return;
    setError(null);
    try {
      const out = await api.post<{ requeued: number }>('/api/v1/deliveries/retry', body);
      setDone(`Queued ${fmt.n(out.requeued)} again.`);
      state.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section aria-labelledby="deliveries-title">
      <h2 id="deliveries-title">Deliveries</h2>
      <span role="status">{done}</span>
      <ErrorNote error={error} />
      <Loaded state={state}>
        {({ daily, dead }) => {
          const points = daily.days.map((d) => ({ ...d, date: new Date(d.day) }));
          return (
            <>
              <Chart
                title="Deliveries per day by status"
                draw={(width) =>
                  Plot.plot({
                    width,
                    height: 220,
                    marginLeft: 60,
                    // Without deliveries, an empty frame that says so (not an axis of zeros).
                    y: points.length
                      ? countAxis(
                          'deliveries',
                          points.map((p) => p.deliveries),
                        )
                      : { domain: [0, 1], axis: null },
                    x: { label: null },
                    color: {
                      legend: true,
                      domain: STATUS_COLOURS.map(([s]) => s),
                      range: STATUS_COLOURS.map(([, c]) => c),
                    },
                    marks: [
                      Plot.rectY(points, { x: 'date', y: 'deliveries', fill: 'status', interval: 'day' }),
                      Plot.ruleY([0]),
                      ...(points.length
                        ? []
                        : [
                            Plot.text(['No delivery yet'], {
                              frameAnchor: 'middle',
                              fontSize: 14,
                              fill: '#555',
                            }),
                          ]),
                    ],
                  })
                }
                table={
                  <DataTable
                    caption="Deliveries per day and status"
                    rows={daily.days}
                    empty="This play has no delivery yet."
                    columns={[
                      { label: 'Day', value: (d) => d.day },
                      { label: 'Status', value: (d) => d.status },
                      { label: 'Deliveries', value: (d) => fmt.n(d.deliveries), numeric: true },
                    ]}
                  />
                }
              />
              <h3>Dead letters</h3>
              {props.admin && dead.deliveries.length > 0 ? (
                <p>
                  <button
                    type="button"
                    onClick={() => retry({ allDead: true }, `all ${daily.dead} dead deliveries`)}
                  >
                    Retry all dead
                  </button>
                </p>
              ) : null}
              <DataTable
                caption={`Deliveries that gave up (${fmt.n(daily.dead)} in all, the latest 50)`}
                rows={dead.deliveries}
                empty="No dead delivery."
                columns={[
                  { label: 'Id', value: (d) => String(d.id), numeric: true },
                  { label: 'Person', value: (d) => <a href={href('people', d.person_id)}>{d.person_id}</a> },
                  { label: 'Destination', value: (d) => d.destination ?? '—' },
                  { label: 'Attempts', value: (d) => String(d.attempts), numeric: true },
                  { label: 'Last error', value: (d) => d.last_error ?? '—' },
                  { label: 'Created', value: (d) => fmt.date(d.created_at) },
                  ...(props.admin
                    ? [
                        {
                          label: 'Retry',
                          value: (d: Delivery) => (
                            <button
                              type="button"
                              onClick={() => retry({ id: d.id }, `delivery ${d.id}`)}
                              aria-label={`Retry delivery ${d.id}`}
                            >
                              Retry
                            </button>
                          ),
                        },
                      ]
                    : []),
                ]}
              />
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

function Matrix() {
  const state = useData(() => api.get<{ file: string; plays: PlayRow[] }>('/api/v1/playbook'), []);
  return (
    <>
      <h1>Plays</h1>
      <Loaded state={state}>
        {(pb) => (
          <DataTable
            caption={`The decision matrix (${pb.file})`}
            rows={pb.plays}
            empty="No playbook yet: write playbook.yaml (see docs/playbook.md)."
            columns={[
              { label: 'Play', value: (p) => <a href={href('plays', p.name)}>{p.name}</a> },
              { label: 'Segment', value: (p) => <a href={href('segments', p.segment)}>{p.segment}</a> },
              { label: 'Offer', value: (p) => p.offer },
              { label: 'Channel', value: (p) => p.channel },
              { label: 'Trigger', value: (p) => p.trigger },
              { label: 'Cadence', value: (p) => p.cadence ?? '—' },
              { label: 'Holdout', value: (p) => fmt.pct(p.holdout, 0), numeric: true },
              { label: 'KPI', value: (p) => p.kpi ?? '—' },
            ]}
          />
        )}
      </Loaded>
    </>
  );
}

function LiftReport(props: { play: string; admin: boolean }) {
  const state = useData(() => api.get<Report>(`/api/v1/measure/${enc(props.play)}`), [props.play]);
  return (
    <>
      <h1>Lift: {props.play}</h1>
      <p>
        <a href={href('plays')}>All plays</a>
      </p>
      <Loaded state={state}>
        {(r) => {
          const bars = r.rows
            .filter((x) => x.lift?.relative)
            .map((x) => ({
              label: `${x.kpi}${x.segment ? ` · ${x.segment}` : ''}`,
              lift: x.lift!.relative!.estimate,
              lo: x.lift!.relative!.ci.lower,
              hi: x.lift!.relative!.ci.upper,
            }));
          return (
            <>
              <p>
                Arms: {r.arms.map((a) => `${a.arm} ${fmt.n(a.people)}`).join(', ') || 'nobody exposed yet'}.
                Sample ratio check:{' '}
                {r.srm
                  ? `p = ${fmt.num(r.srm.pValue, 4)}${r.srm.pValue < 0.001 ? ' — mismatch: do not trust this test' : ' (ok)'}`
                  : '—'}
                .
                {r.mde
                  ? ` Smallest detectable lift now: ${r.mde.relative === null ? fmt.num(r.mde.absolute) : fmt.pct(r.mde.relative)}.`
                  : ''}
              </p>
              <Chart
                title="Relative lift per KPI with its 95% interval"
                draw={(width) =>
                  Plot.plot({
                    width,
                    height: 60 + 40 * Math.max(1, bars.length),
                    marginLeft: 200,
                    x: { label: 'relative lift', tickFormat: '+.0%', grid: true },
                    y: { label: null },
                    marks: [
                      Plot.ruleX([0]),
                      Plot.link(bars, {
                        y1: 'label',
                        y2: 'label',
                        x1: 'lo',
                        x2: 'hi',
                        stroke: '#888',
                        strokeWidth: 3,
                      }),
                      Plot.dot(bars, { y: 'label', x: 'lift', fill: '#3b6ea8', r: 5 }),
                    ],
                  })
                }
                table={
                  <DataTable
                    caption="Lift per KPI and segment"
                    rows={r.rows}
                    columns={[
                      { label: 'KPI', value: (x) => x.kpi },
                      { label: 'Segment', value: (x) => x.segment ?? 'everyone' },
                      {
                        label: 'Relative lift',
                        value: (x) => fmt.pct(x.lift?.relative?.estimate),
                        numeric: true,
                      },
                      {
                        label: '95% interval',
                        value: (x) =>
                          x.lift?.relative
                            ? `${fmt.pct(x.lift.relative.ci.lower)} to ${fmt.pct(x.lift.relative.ci.upper)}`
                            : '—',
                      },
                      { label: 'p', value: (x) => fmt.num(x.lift?.absolute.pValue, 4), numeric: true },
                      { label: 'Holm p', value: (x) => fmt.num(x.holmP, 4), numeric: true },
                      { label: 'BH p', value: (x) => fmt.num(x.benjaminiHochbergP, 4), numeric: true },
                      {
                        label: 'CUPED lift',
                        value: (x) => fmt.num(x.cuped?.absolute?.estimate, 4),
                        numeric: true,
                      },
                      { label: 'Note', value: (x) => x.note ?? '' },
                    ]}
                  />
                }
              />
            </>
          );
        }}
      </Loaded>
      <DeliveriesSection play={props.play} admin={props.admin} />
    </>
  );
}

export function PlaysPage(props: { route: Route; admin: boolean }) {
  const play = props.route.parts[0];
  return play ? <LiftReport play={play} admin={props.admin} /> : <Matrix />;
}
