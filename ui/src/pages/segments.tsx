import * as Plot from '@observablehq/plot';
import { useState } from 'preact/hooks';
import { stringify } from 'yaml';
import { api, enc } from '../api';
import { countAxis } from '../components/axes';
import { Chart } from '../components/chart';
import { ErrorNote, fmt, Loaded, useData } from '../components/data';
import { Sparkline } from '../components/sparkline';
import { DataTable } from '../components/table';
import { href, type Route } from '../router';
import { SegmentBuilder } from './segment-builder';

interface Listing {
  name: string;
  label: string | null;
  description: string | null;
  owner: string | null;
  tags: string[];
  version: number;
  source: string | null;
  updatedAt: string;
  size: number;
  previousSize: number | null;
  definition: Record<string, unknown>;
}
interface Report {
  warnings: { segment: string; kind: string; message: string }[];
  segments: { name: string; size: number; trend: { asOf: string; size: number }[] }[];
  overlap: { a: string; b: string; both: number; jaccard: number }[];
}

function change(s: Listing): string {
  if (s.previousSize === null) return '—';
  const d = s.size - s.previousSize;
  return `${d > 0 ? '+' : ''}${fmt.n(d)}`;
}

export function RefreshButton(props: { onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState('');
  const run = async () => {
    setBusy(true);
    setError(null);
    setDone('');
    try {
      await api.post('/api/v1/refresh', {});
      setDone('Refreshed.');
      props.onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span>
      <button type="button" onClick={run} disabled={busy}>
        {busy ? 'Refreshing…' : 'Run a refresh'}
      </button>{' '}
      <span role="status">{done}</span>
      <ErrorNote error={error} />
    </span>
  );
}

function SegmentList(props: { admin: boolean }) {
  const state = useData(
    async () => ({
      list: await api.get<{ segments: Listing[] }>('/api/v1/segments'),
      report: await api.get<Report>('/api/v1/segments/report'),
    }),
    [],
  );
  return (
    <>
      <h1>Segments</h1>
      <p class="actions">
        <a class="button" href={href('segments', 'new')}>
          Build a segment
        </a>{' '}
        {props.admin ? <RefreshButton onDone={state.reload} /> : null}
      </p>
      <Loaded state={state}>
        {({ list, report }) => {
          const warningsOf = (name: string) => report.warnings.filter((w) => w.segment === name);
          const trendOf = (name: string) =>
            (report.segments.find((r) => r.name === name)?.trend ?? []).map((t) => ({
              date: new Date(t.asOf),
              value: t.size,
            }));
          return (
            <DataTable
              caption="Active segments, as of the last refresh"
              rows={list.segments}
              empty="No segment has been refreshed yet."
              columns={[
                {
                  label: 'Segment',
                  value: (s) => <a href={href('segments', s.name)}>{s.label ?? s.name}</a>,
                },
                { label: 'Name', value: (s) => s.name },
                { label: 'Owner', value: (s) => s.owner ?? '—' },
                { label: 'Tags', value: (s) => s.tags.join(', ') || '—' },
                { label: 'Size', value: (s) => fmt.n(s.size), numeric: true },
                { label: 'Change', value: change, numeric: true },
                {
                  label: 'Trend',
                  value: (s) => {
                    const points = trendOf(s.name);
                    return (
                      <Sparkline
                        points={points}
                        label={`size of ${s.name} over ${points.length} refreshes: ${points.map((p) => fmt.n(p.value)).join(' → ')}`}
                      />
                    );
                  },
                },
                {
                  label: 'Warnings',
                  value: (s) =>
                    warningsOf(s.name)
                      .map((w) => w.kind)
                      .join(', ') || '—',
                },
              ]}
            />
          );
        }}
      </Loaded>
    </>
  );
}

interface AudienceExport {
  id: number;
  segment: string;
  format: 'csv' | 'parquet';
  mode: 'full' | 'delta';
  path: string;
  rows: number;
  asOf: string;
}

/** Write the segment's audience file (CSV or Parquet) on the server, for an ad platform or a CRM upload. */
function AudienceExportSection(props: { name: string; admin: boolean }) {
  const state = useData(() => api.get<{ exports: AudienceExport[] }>('/api/v1/audiences'), [props.name]);
  const [done, setDone] = useState('');
  const [error, setError] = useState<unknown>(null);
  const run = async (format: 'csv' | 'parquet') => {
    setError(null);
    setDone('');
    try {
      const out = await api.post<AudienceExport>(`/api/v1/audiences/${enc(props.name)}/export`, { format });
      setDone(`Exported ${fmt.n(out.rows)} people to ${out.path}`);
      state.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section aria-labelledby="export-title">
      <h2 id="export-title">Audience export</h2>
      {props.admin ? (
        <p class="actions">
          <button type="button" onClick={() => run('csv')}>
            Export CSV
          </button>{' '}
          <button type="button" onClick={() => run('parquet')}>
            Export Parquet
          </button>{' '}
          <span role="status">{done}</span>
        </p>
      ) : (
        <p class="muted">Exporting needs an admin key.</p>
      )}
      <ErrorNote error={error} />
      <Loaded state={state}>
        {(r) => (
          <DataTable
            caption="Audience files written for this segment, newest first"
            rows={r.exports.filter((x) => x.segment === props.name)}
            empty="No audience file yet."
            columns={[
              { label: 'When', value: (x) => fmt.date(x.asOf) },
              { label: 'Format', value: (x) => x.format },
              { label: 'Mode', value: (x) => x.mode },
              { label: 'People', value: (x) => fmt.n(x.rows), numeric: true },
              { label: 'File', value: (x) => x.path },
            ]}
          />
        )}
      </Loaded>
    </section>
  );
}

/**
 * How much of each segment (row) is also in each other segment (column): both / the row's size. Asymmetric on
 * purpose: a small segment inside a big one shows 100% on its row and a small share on the big one's.
 */
function OverlapHeatMap(props: { name: string; report: Report }) {
  const sizes = new Map(props.report.segments.map((s) => [s.name, s.size]));
  const names = props.report.segments.map((s) => s.name);
  const both = new Map<string, number>();
  for (const o of props.report.overlap) {
    both.set(`${o.a}\u0000${o.b}`, o.both);
    both.set(`${o.b}\u0000${o.a}`, o.both);
  }
  const cells = names.flatMap((row) =>
    names.map((col) => {
      const n = row === col ? (sizes.get(row) ?? 0) : (both.get(`${row}\u0000${col}`) ?? 0);
      const size = sizes.get(row) ?? 0;
      return { row, col, both: n, share: size ? n / size : 0 };
    }),
  );
  const mine = cells.filter((c) => c.row === props.name && c.col !== props.name);
  return (
    <Chart
      title="Overlap: share of each segment (row) also in another (column)"
      draw={(width) =>
        Plot.plot({
          width: Math.min(width, 120 + 90 * names.length),
          height: 80 + 36 * names.length,
          marginLeft: 170,
          marginBottom: 90,
          padding: 0.03,
          x: { label: null, domain: names, tickRotate: -35 },
          y: { label: null, domain: names },
          // `percent` scales the shares to 0–100 before the domain applies: a domain of [0, 1] coloured every
          // share of 1% and more as 100%.
          color: {
            scheme: 'blues',
            domain: [0, 100],
            legend: true,
            label: 'share of the row',
            percent: true,
          },
          marks: [
            Plot.cell(cells, { x: 'col', y: 'row', fill: 'share', inset: 0.5 }),
            Plot.text(cells, {
              x: 'col',
              y: 'row',
              text: (c: { share: number }) => fmt.pct(c.share, 0),
              fill: 'black',
              stroke: 'white',
              strokeWidth: 3,
              paintOrder: 'stroke',
            }),
            Plot.frame({ anchor: 'left', stroke: 'none' }),
          ],
        })
      }
      onCreated={(svg) => svg.setAttribute('data-overlap', String(cells.length))}
      table={
        <DataTable
          caption={`Members of ${props.name} also in each other segment`}
          rows={mine}
          empty="No other active segment."
          columns={[
            { label: 'Other segment', value: (c) => <a href={href('segments', c.col)}>{c.col}</a> },
            { label: 'People in both', value: (c) => fmt.n(c.both), numeric: true },
            { label: `Share of ${props.name}`, value: (c) => fmt.pct(c.share), numeric: true },
          ]}
        />
      }
    />
  );
}

interface History {
  history: { asOf: string; version: number; size: number; entered: number; exited: number }[];
}
interface Members {
  size: number;
  members: { personId: string; enteredAt: string }[];
}

/** A refresh on an axis: its time to the second (two refreshes can fall in the same minute). */
const refreshLabel = (h: { asOf: string }) => h.asOf.slice(0, 19).replace('T', ' ');

interface ChangeEntry {
  id: number;
  occurred_at: string;
  actor: string;
  action: string;
  source: string | null;
  detail: string | null;
}

/** The audit actions about a segment, in words. */
const CHANGE_WORDS: Record<string, string> = {
  'segment.create': 'Defined',
  'segment.change': 'Definition changed',
  'segment.file.create': 'File written from the dashboard',
  'segment.file.change': 'File changed from the dashboard',
  'segment.retire': 'Retired',
};

/** An audit entry's detail (JSON text) as `key: value` text. */
function detailText(detail: string | null): string {
  if (!detail) return '—';
  try {
    const parsed = JSON.parse(detail) as Record<string, unknown>;
    return Object.entries(parsed)
      .filter(([, v]) => v !== null)
      .map(
        ([k, v]) =>
          `${k}: ${Array.isArray(v) ? v.join('; ') : typeof v === 'string' ? v : JSON.stringify(v)}`,
      )
      .join(', ');
  } catch {
    return detail;
  }
}

/** Who changed the segment and when: its definition's versions at refreshes, saves from the builder, retirement. */
function ChangeLogSection(props: { name: string }) {
  const state = useData(
    () => api.get<{ changes: ChangeEntry[] }>(`/api/v1/segments/${enc(props.name)}/changes`),
    [props.name],
  );
  return (
    <section aria-labelledby="changes-title">
      <h2 id="changes-title">Change log</h2>
      <Loaded state={state}>
        {(c) => (
          <DataTable
            caption="Changes to this segment, newest first"
            rows={c.changes}
            empty="No change recorded."
            columns={[
              { label: 'When', value: (e) => fmt.date(e.occurred_at) },
              { label: 'Change', value: (e) => CHANGE_WORDS[e.action] ?? e.action },
              { label: 'By', value: (e) => e.actor },
              { label: 'From', value: (e) => e.source ?? '—' },
              { label: 'Detail', value: (e) => detailText(e.detail) },
            ]}
          />
        )}
      </Loaded>
    </section>
  );
}

function SegmentDetail(props: { name: string; admin: boolean }) {
  const state = useData(
    async () => ({
      list: await api.get<{ segments: Listing[] }>('/api/v1/segments'),
      history: await api.get<History>(`/api/v1/segments/${enc(props.name)}/history`),
      members: await api.get<Members>(`/api/v1/segments/${enc(props.name)}/members?limit=20`),
      report: await api.get<Report>('/api/v1/segments/report'),
    }),
    [props.name],
  );
  return (
    <Loaded state={state}>
      {({ list, history, members, report }) => {
        const seg = list.segments.find((s) => s.name === props.name);
        const points = history.history.map((h) => ({ ...h, date: new Date(h.asOf) }));
        return (
          <>
            <h1>{seg?.label ?? props.name}</h1>
            <p>
              {[seg?.description, seg?.owner ? `Owner: ${seg.owner}` : null].filter(Boolean).join(' · ')}
              {seg?.description || seg?.owner ? ' · ' : ''}
              <strong>{fmt.n(members.size)}</strong> people now.
            </p>
            <p class="actions">
              <a class="button" href={`${href('segments', 'new')}?from=${enc(props.name)}`}>
                Edit in the builder
              </a>
            </p>
            <Chart
              title="Size over time"
              draw={(width) =>
                Plot.plot({
                  width,
                  height: 220,
                  marginLeft: 60,
                  y: {
                    ...countAxis(
                      'people',
                      points.map((p) => p.size),
                    ),
                    zero: true,
                    nice: true,
                  },
                  marks: [
                    Plot.lineY(points, { x: 'date', y: 'size', stroke: '#3b6ea8' }),
                    Plot.dot(points, { x: 'date', y: 'size', fill: '#3b6ea8' }),
                  ],
                })
              }
              table={
                <DataTable
                  caption="Size, entries and exits per refresh"
                  rows={history.history}
                  columns={[
                    { label: 'As of', value: (h) => fmt.date(h.asOf) },
                    { label: 'Version', value: (h) => String(h.version), numeric: true },
                    { label: 'Size', value: (h) => fmt.n(h.size), numeric: true },
                    { label: 'Entered', value: (h) => fmt.n(h.entered), numeric: true },
                    { label: 'Exited', value: (h) => fmt.n(h.exited), numeric: true },
                  ]}
                />
              }
            />
            <Chart
              title="Entries and exits per refresh"
              draw={(width) =>
                Plot.plot({
                  width,
                  height: 220,
                  marginLeft: 60,
                  marginBottom: 50,
                  // One bar per refresh (refreshes are not evenly spaced in time): entries up, exits down.
                  x: {
                    label: 'refresh',
                    domain: points.map(refreshLabel),
                    tickRotate: points.length > 6 ? -25 : 0,
                    // A few refreshes: slim bars, not a wall of colour.
                    padding: points.length < 6 ? 0.7 : 0.2,
                  },
                  y: countAxis(
                    'people',
                    points.flatMap((p) => [p.entered, -p.exited]),
                  ),
                  color: { legend: true, domain: ['entered', 'exited'], range: ['#2f7d4f', '#a4161a'] },
                  marks: [
                    Plot.barY(
                      points.flatMap((p) => [
                        { at: refreshLabel(p), people: p.entered, kind: 'entered' },
                        { at: refreshLabel(p), people: -p.exited, kind: 'exited' },
                      ]),
                      { x: 'at', y: 'people', fill: 'kind' },
                    ),
                    Plot.ruleY([0]),
                  ],
                })
              }
              table={<p class="muted">The table view of “Size over time” lists entries and exits.</p>}
            />
            <OverlapHeatMap name={props.name} report={report} />
            <AudienceExportSection name={props.name} admin={props.admin} />
            <h2>Members (a sample)</h2>
            <DataTable
              caption="The longest-standing members"
              rows={members.members}
              columns={[
                { label: 'Person', value: (m) => <a href={href('people', m.personId)}>{m.personId}</a> },
                { label: 'Entered', value: (m) => fmt.date(m.enteredAt) },
              ]}
            />
            <h2>Definition</h2>
            <pre class="code">{seg ? stringify(seg.definition) : 'not found'}</pre>
            <ChangeLogSection name={props.name} />
          </>
        );
      }}
    </Loaded>
  );
}

export function SegmentsPage(props: { route: Route; admin: boolean }) {
  const name = props.route.parts[0];
  if (!name) return <SegmentList admin={props.admin} />;
  if (name === 'new') {
    const q = props.route.query;
    return (
      <SegmentBuilder
        admin={props.admin}
        from={q.get('from')}
        where={q.get('where')}
        label={q.get('label')}
      />
    );
  }
  return <SegmentDetail name={name} admin={props.admin} />;
}
