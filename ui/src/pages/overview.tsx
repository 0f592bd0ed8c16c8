import * as Plot from '@observablehq/plot';
import { api } from '../api';
import { countAxis } from '../components/axes';
import { Chart } from '../components/chart';
import { fmt, Loaded, useData } from '../components/data';
import { DataTable } from '../components/table';
import { href } from '../router';

interface Overview {
  events: number;
  persons: number;
  identifiedPersons: number;
  revenue: number;
  purchasers: number;
  firstEvent: string | null;
  lastEvent: string | null;
  rejected: number;
  daily: { day: string; events: number; people: number; revenue: number }[];
  rejections: { reason: string; events: number }[];
  refreshes: { refreshId: number; asOf: string; segments: number; entered: number; exited: number }[];
}

interface CollectorHealth {
  status: 'ok' | 'failing';
  problem: string | null;
  eventsPerSecond: { lastMinute: number; lastHour: number };
  lastReceived: string | null;
  queue: { requests: number; events: number; inFlightEvents: number; backlogEvents: number };
  sinceStart: { accepted: number; deduplicated: number; rejected: number };
}

/** Is data arriving, and is the collector keeping up? Events per second, the write queue, the backlog, failures. */
function CollectorHealthSection() {
  const state = useData(() => api.get<CollectorHealth>('/api/v1/collector/health'), []);
  return (
    <section aria-labelledby="collector-title">
      <h2 id="collector-title">Collector health</h2>
      <Loaded state={state}>
        {(h) => (
          <>
            <p class={h.status === 'ok' ? 'ok' : 'error'} data-testid="collector-status">
              {h.status === 'ok' ? 'Collecting: no failed commit or load.' : `Failing: ${h.problem ?? ''}`}
            </p>
            <section class="stats" aria-label="Collector figures">
              <Stat
                label="Events per second"
                value={fmt.num(h.eventsPerSecond.lastMinute, 1)}
                note={`last minute; ${fmt.num(h.eventsPerSecond.lastHour, 2)}/s over the last hour`}
              />
              <Stat
                label="Backlog"
                value={fmt.n(h.queue.backlogEvents)}
                note="acknowledged events not yet loaded"
              />
              <Stat
                label="Write queue"
                value={fmt.n(h.queue.events + h.queue.inFlightEvents)}
                note={`${fmt.n(h.queue.requests)} requests waiting`}
              />
              <Stat
                label="Since the server started"
                value={fmt.n(h.sinceStart.accepted)}
                note={`accepted; ${fmt.n(h.sinceStart.deduplicated)} duplicates, ${fmt.n(h.sinceStart.rejected)} rejected`}
              />
            </section>
            <p class="muted">Last event received: {fmt.date(h.lastReceived)}</p>
          </>
        )}
      </Loaded>
    </section>
  );
}

function Stat(props: { label: string; value: string; note?: string }) {
  return (
    <div class="stat">
      <div class="stat-label">{props.label}</div>
      <div class="stat-value">{props.value}</div>
      {props.note ? <div class="muted">{props.note}</div> : null}
    </div>
  );
}

export function OverviewPage() {
  const state = useData(() => api.get<Overview>('/api/v1/overview'), []);
  return (
    <>
      <h1>Overview</h1>
      <Loaded state={state}>
        {(o) => {
          const daily = o.daily.map((d) => ({ ...d, date: new Date(d.day) }));
          return (
            <>
              <section class="stats" aria-label="Totals">
                <Stat
                  label="Events"
                  value={fmt.n(o.events)}
                  note={`${fmt.day(o.firstEvent)} → ${fmt.day(o.lastEvent)}`}
                />
                <Stat
                  label="People"
                  value={fmt.n(o.persons)}
                  note={`${fmt.pct(o.identifiedPersons / Math.max(1, o.persons))} identified`}
                />
                <Stat label="Revenue" value={fmt.money(o.revenue)} note={`${fmt.n(o.purchasers)} buyers`} />
                <Stat label="Rejected events" value={fmt.n(o.rejected)} />
              </section>
              <Chart
                title="Events per day"
                draw={(width) =>
                  Plot.plot({
                    width,
                    height: 260,
                    marginLeft: 60,
                    y: countAxis(
                      'events',
                      daily.map((d) => d.events),
                    ),
                    x: { label: null },
                    marks: [
                      Plot.rectY(daily, { x: 'date', y: 'events', interval: 'day', fill: '#3b6ea8' }),
                      Plot.ruleY([0]),
                    ],
                  })
                }
                table={
                  <DataTable
                    caption="Events, active people and revenue per day"
                    rows={o.daily}
                    columns={[
                      { label: 'Day', value: (d) => d.day },
                      { label: 'Events', value: (d) => fmt.n(d.events), numeric: true },
                      { label: 'People', value: (d) => fmt.n(d.people), numeric: true },
                      { label: 'Revenue', value: (d) => fmt.money(d.revenue), numeric: true },
                    ]}
                  />
                }
              />
              <Chart
                title="Revenue per day"
                draw={(width) =>
                  Plot.plot({
                    width,
                    height: 200,
                    marginLeft: 60,
                    y: countAxis(
                      'revenue ($)',
                      daily.map((d) => d.revenue),
                      { whole: false },
                    ),
                    x: { label: null },
                    marks: [
                      Plot.lineY(daily, { x: 'date', y: 'revenue', stroke: '#2f7d4f' }),
                      // A line needs two days: the dots show a single day (a new shop) too.
                      Plot.dot(daily, { x: 'date', y: 'revenue', fill: '#2f7d4f', r: 2.5 }),
                      Plot.ruleY([0]),
                    ],
                  })
                }
                table={<p class="muted">The table view of “Events per day” lists revenue per day.</p>}
              />
              <CollectorHealthSection />
              <h2>Rejected events</h2>
              <DataTable
                caption="Why events were rejected (the first problem of each)"
                rows={o.rejections}
                empty="No event has been rejected."
                columns={[
                  { label: 'Reason', value: (r) => r.reason },
                  { label: 'Events', value: (r) => fmt.n(r.events), numeric: true },
                ]}
              />
              <h2>Last refreshes</h2>
              <DataTable
                caption="The last turns of the loop"
                rows={o.refreshes}
                empty="No refresh yet: run `segflow refresh` (or press Refresh on the Segments page)."
                columns={[
                  { label: 'Refresh', value: (r) => String(r.refreshId) },
                  { label: 'As of', value: (r) => fmt.date(r.asOf) },
                  {
                    label: 'Segments',
                    value: (r) => <a href={href('segments')}>{fmt.n(r.segments)}</a>,
                    numeric: true,
                  },
                  { label: 'Entered', value: (r) => fmt.n(r.entered), numeric: true },
                  { label: 'Exited', value: (r) => fmt.n(r.exited), numeric: true },
                ]}
              />
            </>
          );
        }}
      </Loaded>
    </>
  );
}
