import * as Plot from '@observablehq/plot';
import { useState } from 'preact/hooks';
import { stringify } from 'yaml';
import { api, enc } from '../api';
import { Chart } from '../components/chart';
import { ErrorNote, fmt, Loaded, useData } from '../components/data';
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
  segments: { name: string; trend: { asOf: string; size: number }[] }[];
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

interface History {
  history: { asOf: string; version: number; size: number; entered: number; exited: number }[];
}
interface Members {
  size: number;
  members: { personId: string; enteredAt: string }[];
}

function SegmentDetail(props: { name: string; admin: boolean }) {
  const state = useData(
    async () => ({
      list: await api.get<{ segments: Listing[] }>('/api/v1/segments'),
      history: await api.get<History>(`/api/v1/segments/${enc(props.name)}/history`),
      members: await api.get<Members>(`/api/v1/segments/${enc(props.name)}/members?limit=20`),
    }),
    [props.name],
  );
  return (
    <Loaded state={state}>
      {({ list, history, members }) => {
        const seg = list.segments.find((s) => s.name === props.name);
        const points = history.history.map((h) => ({ ...h, date: new Date(h.asOf) }));
        return (
          <>
            <h1>{seg?.label ?? props.name}</h1>
            <p>
              {seg?.description ?? ''} {seg?.owner ? `Owner: ${seg.owner}.` : ''}{' '}
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
                  y: { grid: true, label: 'people', zero: true },
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
          </>
        );
      }}
    </Loaded>
  );
}

export function SegmentsPage(props: { route: Route; admin: boolean }) {
  const name = props.route.parts[0];
  if (!name) return <SegmentList admin={props.admin} />;
  if (name === 'new') return <SegmentBuilder admin={props.admin} from={props.route.query.get('from')} />;
  return <SegmentDetail name={name} admin={props.admin} />;
}
