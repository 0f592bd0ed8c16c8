import * as Plot from '@observablehq/plot';
import { useState } from 'preact/hooks';
import { api, qs } from '../api';
import { countAxis } from '../components/axes';
import { Chart } from '../components/chart';
import { fmt, Loaded, useData } from '../components/data';
import { DataTable } from '../components/table';
import { href, peopleHref, type Route } from '../router';

interface Rfm {
  asOf: string;
  customers: number;
  revenue: number;
  cells: { r: number; f: number; customers: number; revenueShare: number }[];
  groups: { group: string; customers: number; share: number; revenueShare: number }[];
  nonBuyers: number;
}
interface CellPeople {
  asOf: string | null;
  size: number;
  people: { personId: string; monetary: number | null; group: string | null }[];
}

interface Lifecycle {
  asOf: string | null;
  trend: { asOf: string; stage: string; people: number }[];
  tiers: { feature: string; tier: string; people: number }[];
}
interface Funnel {
  funnel: string;
  funnels: string[];
  asOf: string;
  steps: string[];
  within: string;
  rows: {
    segment: string | null;
    steps: {
      step: string;
      people: number;
      fromPrevious: number;
      fromStart: number;
      medianHoursFromPrevious: number | null;
    }[];
  }[];
  warnings: string[];
}

/** Lifecycle stages across the last refreshes (is the base growing, churning?) and the tiers now. */
function LifecycleSection() {
  const state = useData(() => api.get<Lifecycle>('/api/v1/reports/lifecycle'), []);
  return (
    <section aria-labelledby="lifecycle-title">
      <h2 id="lifecycle-title">Lifecycle stages</h2>
      <Loaded state={state}>
        {(l) => {
          // One point per refresh, evenly spaced (refreshes need not be): its time to the second.
          const points = l.trend.map((t) => ({ ...t, at: t.asOf.slice(0, 19).replace('T', ' ') }));
          const refreshes = [...new Set(points.map((p) => p.at))];
          return (
            <>
              <Chart
                title="People per lifecycle stage across refreshes"
                draw={(width) =>
                  Plot.plot({
                    width,
                    height: 240,
                    marginLeft: 70,
                    marginBottom: 50,
                    y: {
                      ...countAxis(
                        'people',
                        points.map((p) => p.people),
                      ),
                      nice: true,
                    },
                    x: {
                      type: 'point',
                      label: 'refresh',
                      domain: refreshes,
                      tickRotate: refreshes.length > 6 ? -25 : 0,
                    },
                    color: { legend: true, scheme: 'tableau10' },
                    marks: [
                      Plot.lineY(points, { x: 'at', y: 'people', stroke: 'stage' }),
                      Plot.dot(points, { x: 'at', y: 'people', fill: 'stage', r: 3 }),
                      Plot.ruleY([0]),
                    ],
                  })
                }
                table={
                  <DataTable
                    caption="People per lifecycle stage at each refresh"
                    rows={l.trend}
                    empty="No refresh yet."
                    columns={[
                      { label: 'As of', value: (t) => fmt.date(t.asOf) },
                      { label: 'Stage', value: (t) => t.stage },
                      { label: 'People', value: (t) => fmt.n(t.people), numeric: true },
                    ]}
                  />
                }
              />
              <DataTable
                caption={`Engagement, intent and adoption tiers as of ${fmt.date(l.asOf)}`}
                rows={l.tiers}
                empty="No tiers yet: run a refresh."
                columns={[
                  { label: 'Feature', value: (t) => t.feature },
                  { label: 'Tier', value: (t) => t.tier },
                  {
                    label: 'People',
                    value: (t) => (
                      <a href={peopleHref({ feature: t.feature, equals: t.tier }, `${t.feature} ${t.tier}`)}>
                        {fmt.n(t.people)}
                      </a>
                    ),
                    numeric: true,
                  },
                ]}
              />
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

const SPLITS = ['', 'rfm.group', 'lifecycle.stage', 'engagement.tier', 'intent.tier'];

/** A configured funnel: people per step, conversion and the median time between steps, optionally split. */
function FunnelSection() {
  const [name, setName] = useState('purchase');
  const [by, setBy] = useState('');
  const state = useData(
    () => api.get<Funnel>(`/api/v1/reports/funnel${qs({ name, by: by || undefined })}`),
    [name, by],
  );
  return (
    <section aria-labelledby="funnel-title">
      <h2 id="funnel-title">Funnels</h2>
      <p class="inline">
        <label for="funnel-name">Funnel</label>{' '}
        <select
          id="funnel-name"
          value={name}
          onChange={(e) => setName((e.target as HTMLSelectElement).value)}
        >
          {(state.data?.funnels ?? [name]).map((f) => (
            <option value={f}>{f}</option>
          ))}
        </select>{' '}
        <label for="funnel-by">Split by</label>{' '}
        <select id="funnel-by" value={by} onChange={(e) => setBy((e.target as HTMLSelectElement).value)}>
          {SPLITS.map((f) => (
            <option value={f}>{f || 'nothing (everyone)'}</option>
          ))}
        </select>
      </p>
      <Loaded state={state}>
        {(fr) => {
          const bars = fr.rows.flatMap((r) =>
            r.steps.map((s, k) => ({
              step: `${k + 1}. ${s.step}`,
              people: s.people,
              split: r.segment ?? 'everyone',
            })),
          );
          const stepNames = fr.steps.map((s, k) => `${k + 1}. ${s}`);
          return (
            <>
              {fr.warnings.map((w) => (
                <p class="muted">{w}</p>
              ))}
              <Chart
                title={`Funnel ${fr.funnel}: people per step (within ${fr.within})`}
                draw={(width) =>
                  Plot.plot({
                    width,
                    height: 60 + (by ? 20 : 28) * Math.max(1, bars.length),
                    marginLeft: 220,
                    // Room for the split's names on the right (they were cut off at the default margin).
                    marginRight: by ? 160 : 20,
                    x: { grid: true, label: 'people' },
                    y: { label: null, domain: stepNames },
                    fy: by ? { label: null, padding: 0.25 } : undefined,
                    color: { legend: Boolean(by), scheme: 'tableau10' },
                    marks: [
                      Plot.barX(bars, {
                        y: 'step',
                        x: 'people',
                        fill: by ? 'split' : '#3b6ea8',
                        ...(by ? { fy: 'split' } : {}),
                      }),
                      Plot.ruleX([0]),
                    ],
                  })
                }
                table={
                  <DataTable
                    caption="People per step, conversion and the median hours from the step before"
                    rows={fr.rows.flatMap((r) => r.steps.map((s) => ({ split: r.segment, ...s })))}
                    columns={[
                      ...(by ? [{ label: by, value: (s: { split: string | null }) => s.split ?? '—' }] : []),
                      { label: 'Step', value: (s) => s.step },
                      { label: 'People', value: (s) => fmt.n(s.people), numeric: true },
                      { label: 'From previous', value: (s) => fmt.pct(s.fromPrevious), numeric: true },
                      { label: 'From start', value: (s) => fmt.pct(s.fromStart), numeric: true },
                      {
                        label: 'Median hours from previous',
                        value: (s) => fmt.num(s.medianHoursFromPrevious, 1),
                        numeric: true,
                      },
                    ]}
                  />
                }
              />
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

const cellHref = (r: number, f: number) => `${href('behaviour')}?r=${r}&f=${f}`;

function CellPreview(props: { r: number; f: number }) {
  const state = useData(
    () => api.get<CellPeople>(`/api/v1/reports/rfm/cell${qs({ r: props.r, f: props.f, limit: 50 })}`),
    [props.r, props.f],
  );
  return (
    <section aria-labelledby="cell-title">
      <h2 id="cell-title">
        People with recency {props.r} and frequency {props.f}
      </h2>
      <Loaded state={state}>
        {(c) => (
          <DataTable
            caption={`${fmt.n(c.size)} people in this cell (the first ${c.people.length}, highest spend first)`}
            rows={c.people}
            empty="Nobody is in this cell."
            columns={[
              { label: 'Person', value: (p) => <a href={href('people', p.personId)}>{p.personId}</a> },
              { label: 'RFM group', value: (p) => p.group ?? '—' },
              { label: 'Spent', value: (p) => fmt.money(p.monetary), numeric: true },
            ]}
          />
        )}
      </Loaded>
    </section>
  );
}

export function BehaviourPage(props: { route: Route }) {
  const state = useData(() => api.get<Rfm>('/api/v1/reports/rfm'), []);
  const r = Number(props.route.query.get('r'));
  const f = Number(props.route.query.get('f'));
  return (
    <>
      <h1>Behaviour</h1>
      <Loaded state={state}>
        {(rfm) => {
          const darkFrom = 0.55 * Math.max(0, ...rfm.cells.map((c) => c.customers));
          return (
            <>
              <p>
                {fmt.n(rfm.customers)} buyers and {fmt.n(rfm.nonBuyers)} people who have not bought, as of{' '}
                {fmt.date(rfm.asOf)}. Open a cell to see its people.
              </p>
              <Chart
                title="RFM grid: buyers per recency × frequency score"
                draw={(width) =>
                  Plot.plot({
                    width: Math.min(width, 640),
                    height: 420,
                    padding: 0.04,
                    x: { label: 'frequency score →', domain: [1, 2, 3, 4, 5] },
                    y: { label: '↑ recency score', domain: [1, 2, 3, 4, 5], reverse: true },
                    color: { scheme: 'blues', legend: true, label: 'buyers' },
                    marks: [
                      Plot.cell(rfm.cells, { x: 'f', y: 'r', fill: 'customers', inset: 1 }),
                      Plot.text(rfm.cells, {
                        x: 'f',
                        y: 'r',
                        text: (c: Rfm['cells'][number]) =>
                          `${fmt.n(c.customers)}\n${fmt.pct(c.revenueShare, 0)} rev`,
                        // Dark text on light cells, white on dark ones (the scale darkens past half its range).
                        fill: (c: Rfm['cells'][number]) => (c.customers > darkFrom ? 'white' : '#1b2330'),
                        fontSize: 12,
                        lineHeight: 1.3,
                      }),
                    ],
                  })
                }
                onCreated={(svg) => {
                  // Each drawn cell opens its people; the table view offers the same links to keyboards.
                  // The labels sit over the cells; clicks go through them to the cell.
                  for (const t of svg.querySelectorAll<SVGElement>('g[aria-label="text"]'))
                    t.style.pointerEvents = 'none';
                  const rects = svg.querySelectorAll('g[aria-label="cell"] rect');
                  rects.forEach((rect, i) => {
                    const c = rfm.cells[i];
                    if (!c) return;
                    rect.setAttribute('data-cell', `${c.r}-${c.f}`);
                    rect.addEventListener('click', () => {
                      location.hash = cellHref(c.r, c.f);
                    });
                    (rect as SVGElement).style.cursor = 'pointer';
                  });
                }}
                table={
                  <DataTable
                    caption="Buyers and revenue share per RFM cell"
                    rows={rfm.cells}
                    columns={[
                      { label: 'Recency', value: (c) => String(c.r), numeric: true },
                      { label: 'Frequency', value: (c) => String(c.f), numeric: true },
                      {
                        label: 'Buyers',
                        value: (c) => <a href={cellHref(c.r, c.f)}>{fmt.n(c.customers)}</a>,
                        numeric: true,
                      },
                      { label: 'Revenue share', value: (c) => fmt.pct(c.revenueShare), numeric: true },
                    ]}
                  />
                }
              />
              {r >= 1 && f >= 1 ? <CellPreview r={r} f={f} /> : null}
              <h2>RFM groups</h2>
              <DataTable
                caption="The named RFM groups"
                rows={rfm.groups}
                columns={[
                  { label: 'Group', value: (g) => g.group },
                  {
                    label: 'Buyers',
                    value: (g) => (
                      <a href={peopleHref({ feature: 'rfm.group', equals: g.group }, `RFM group ${g.group}`)}>
                        {fmt.n(g.customers)}
                      </a>
                    ),
                    numeric: true,
                  },
                  { label: 'Share of buyers', value: (g) => fmt.pct(g.share), numeric: true },
                  { label: 'Revenue share', value: (g) => fmt.pct(g.revenueShare), numeric: true },
                ]}
              />
            </>
          );
        }}
      </Loaded>
      <LifecycleSection />
      <FunnelSection />
    </>
  );
}
