import * as Plot from '@observablehq/plot';
import { api, qs } from '../api';
import { Chart } from '../components/chart';
import { fmt, Loaded, useData } from '../components/data';
import { DataTable } from '../components/table';
import { href, type Route } from '../router';

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
        {(rfm) => (
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
                      fill: 'black',
                      stroke: 'white',
                      strokeWidth: 3,
                      paintOrder: 'stroke',
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
                { label: 'Buyers', value: (g) => fmt.n(g.customers), numeric: true },
                { label: 'Share of buyers', value: (g) => fmt.pct(g.share), numeric: true },
                { label: 'Revenue share', value: (g) => fmt.pct(g.revenueShare), numeric: true },
              ]}
            />
          </>
        )}
      </Loaded>
    </>
  );
}
