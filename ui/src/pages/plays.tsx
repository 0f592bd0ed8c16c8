import * as Plot from '@observablehq/plot';
import { api, enc } from '../api';
import { Chart } from '../components/chart';
import { fmt, Loaded, useData } from '../components/data';
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
  ci: [number, number];
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

function LiftReport(props: { play: string }) {
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
              lo: x.lift!.relative!.ci[0],
              hi: x.lift!.relative!.ci[1],
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
                            ? `${fmt.pct(x.lift.relative.ci[0])} to ${fmt.pct(x.lift.relative.ci[1])}`
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
    </>
  );
}

export function PlaysPage(props: { route: Route }) {
  const play = props.route.parts[0];
  return play ? <LiftReport play={play} /> : <Matrix />;
}
