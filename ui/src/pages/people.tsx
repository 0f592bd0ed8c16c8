import { useState } from 'preact/hooks';
import { api, enc, qs } from '../api';
import { ErrorNote, fmt, Loaded, useData } from '../components/data';
import { DataTable } from '../components/table';
import { href, type Route } from '../router';

interface Match {
  personId: string;
  email: string | null;
  identified: boolean;
  lastSeen: string;
  matchedBy: string;
}
interface Person {
  personId: string;
  identified: boolean;
  identifiers: { identifier: string; isUser: boolean }[];
  firstSeen: string;
  lastSeen: string;
  eventCount: number;
  traits: Record<string, unknown>;
  consent: Record<string, boolean>;
  accounts: string[];
  recentEvents: { ts: string; type: string; event: string | null; name: string | null; messageId: string }[];
}
interface Decision {
  segments: string[];
  play: { name: string; offer: string; channel: string; variant: string } | null;
  candidates: { play: string; priority: number; eligible: boolean; reasons: string[] }[];
}

/** Any value as text (objects as JSON): data is never markup. */
const asText = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

function Search(props: { initial: string }) {
  const [q, setQ] = useState(props.initial);
  const state = useData(
    () =>
      props.initial
        ? api.get<{ matches: Match[] }>(`/api/v1/persons${qs({ q: props.initial })}`)
        : Promise.resolve({ matches: [] as Match[] }),
    [props.initial],
  );
  return (
    <>
      <h1>People</h1>
      <form
        aria-label="Find a person"
        onSubmit={(e) => {
          e.preventDefault();
          location.hash = `${href('people')}?q=${enc(q.trim())}`;
        }}
      >
        <label for="person-q">Identifier or email</label>{' '}
        <input id="person-q" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />{' '}
        <button type="submit">Find</button>
      </form>
      {props.initial ? (
        <Loaded state={state}>
          {(r) => (
            <DataTable
              caption={`People matching “${props.initial}”`}
              rows={r.matches}
              empty="Nobody matches: try another identifier or email."
              columns={[
                { label: 'Person', value: (m) => <a href={href('people', m.personId)}>{m.personId}</a> },
                { label: 'Email', value: (m) => m.email ?? '—' },
                { label: 'Matched by', value: (m) => m.matchedBy },
                { label: 'Last seen', value: (m) => fmt.date(m.lastSeen) },
              ]}
            />
          )}
        </Loaded>
      ) : null}
    </>
  );
}

interface Timeline {
  total: number;
  page: number;
  pageSize: number;
  events: {
    ts: string;
    type: string;
    event: string | null;
    name: string | null;
    messageId: string;
    properties: Record<string, unknown>;
  }[];
}

/** A property list as text: `key: value` pairs, values as JSON unless plain text. */
const propertiesText = (p: Record<string, unknown>) =>
  Object.entries(p)
    .map(([k, v]) => `${k}: ${asText(v)}`)
    .join(', ');

/** The person's events with their properties, newest first, a page at a time. */
function TimelineSection(props: { id: string }) {
  const [page, setPage] = useState(0);
  const state = useData(
    () => api.get<Timeline>(`/api/v1/persons/${enc(props.id)}/events${qs({ page, pageSize: 25 })}`),
    [props.id, page],
  );
  const pages = state.data ? Math.max(1, Math.ceil(state.data.total / state.data.pageSize)) : 1;
  return (
    <section aria-labelledby="timeline-title">
      <h2 id="timeline-title">Timeline</h2>
      <nav class="pager" aria-label="Timeline pages">
        <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
          Newer
        </button>{' '}
        <span>
          Page {page + 1} of {pages}
        </span>{' '}
        <button type="button" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>
          Older
        </button>
      </nav>
      <Loaded state={state}>
        {(t) => (
          <DataTable
            caption={`Events ${fmt.n(t.page * t.pageSize + 1)}–${fmt.n(t.page * t.pageSize + t.events.length)} of ${fmt.n(t.total)}, newest first`}
            rows={t.events}
            empty="No events."
            columns={[
              { label: 'Time', value: (e) => fmt.date(e.ts) },
              { label: 'Type', value: (e) => e.type },
              { label: 'Event', value: (e) => e.event ?? e.name ?? '—' },
              { label: 'Properties', value: (e) => propertiesText(e.properties) || '—' },
            ]}
          />
        )}
      </Loaded>
    </section>
  );
}

function Reasons(props: { id: string }) {
  const state = useData(() => api.get<Decision>(`/api/v1/persons/${enc(props.id)}/decision`), [props.id]);
  return (
    <section aria-labelledby="decide-title">
      <h2 id="decide-title">Next best action (decide)</h2>
      <Loaded state={state}>
        {(d) => (
          <>
            <p>
              {d.play
                ? `Best play now: ${d.play.name} — ${d.play.offer} by ${d.play.channel} (variant ${d.play.variant})`
                : 'No play for this person now.'}
            </p>
            <DataTable
              caption="Every play considered, with its reasons"
              rows={d.candidates}
              empty="No play targets a segment this person is in."
              columns={[
                { label: 'Play', value: (c) => c.play },
                { label: 'Eligible', value: (c) => (c.eligible ? 'yes' : 'no') },
                {
                  label: 'Reasons',
                  value: (c) => (
                    <ul class="reasons">
                      {c.reasons.map((r) => (
                        <li>{r}</li>
                      ))}
                    </ul>
                  ),
                },
              ]}
            />
          </>
        )}
      </Loaded>
    </section>
  );
}

interface Scores {
  predictions: Record<string, unknown> | null;
  scores: { score: string; value: number | null; label: string | null; asOf: string; fitId: string }[];
}

/** The person's model scores: the purchase models' predictions and every score (churn, purchase, cluster). */
function ScoresSection(props: { id: string }) {
  const state = useData(() => api.get<Scores>(`/api/v1/persons/${enc(props.id)}/scores`), [props.id]);
  return (
    <section aria-labelledby="scores-title">
      <h2 id="scores-title">Scores</h2>
      <Loaded state={state}>
        {(s) => (
          <div class="columns">
            <DataTable
              caption="Predictions (BG/NBD and Gamma-Gamma)"
              rows={Object.entries(s.predictions ?? {}).filter(([k]) => k !== 'person_id')}
              empty="Not scored by the purchase models."
              columns={[
                { label: 'Prediction', value: ([k]) => k },
                {
                  label: 'Value',
                  value: ([k, v]) =>
                    typeof v === 'number'
                      ? fmt.num(v, 3)
                      : v === null
                        ? '—'
                        : k === 'as_of'
                          ? fmt.date(String(v))
                          : asText(v),
                },
              ]}
            />
            <DataTable
              caption="Model scores, each from its latest scoring"
              rows={s.scores}
              empty="No model scores."
              columns={[
                { label: 'Score', value: (x) => x.score },
                { label: 'Value', value: (x) => fmt.num(x.value, 3), numeric: true },
                { label: 'Label', value: (x) => x.label ?? '—' },
                { label: 'As of', value: (x) => fmt.date(x.asOf) },
              ]}
            />
          </div>
        )}
      </Loaded>
    </section>
  );
}

interface Delivery {
  id: number;
  play: string;
  trigger: string;
  channel: string;
  status: string;
  reason: string | null;
  attempts: number;
  created_at: string;
  sent_at: string | null;
}

/** What the plays sent (or held back, blocked, gave up on) for this person, newest first. */
function DeliveriesSection(props: { id: string }) {
  const state = useData(
    () => api.get<{ deliveries: Delivery[] }>(`/api/v1/deliveries${qs({ personId: props.id, limit: 50 })}`),
    [props.id],
  );
  return (
    <section aria-labelledby="person-deliveries-title">
      <h2 id="person-deliveries-title">Deliveries</h2>
      <Loaded state={state}>
        {(d) => (
          <DataTable
            caption="Deliveries to this person, newest first (the latest 50)"
            rows={d.deliveries}
            empty="No play has delivered to this person."
            columns={[
              { label: 'Play', value: (x) => <a href={href('plays', x.play)}>{x.play}</a> },
              { label: 'Trigger', value: (x) => x.trigger },
              { label: 'Channel', value: (x) => x.channel },
              { label: 'Status', value: (x) => x.status },
              { label: 'Reason', value: (x) => x.reason ?? '—' },
              { label: 'Created', value: (x) => fmt.date(x.created_at) },
              { label: 'Sent', value: (x) => fmt.date(x.sent_at) },
            ]}
          />
        )}
      </Loaded>
    </section>
  );
}

/**
 * An access request from the dashboard: everything held about the person (the same export as `segflow privacy
 * export`, audited as privacy.export), offered as a JSON file made in the browser — nothing is written on the server.
 */
function ExportAction(props: { id: string }) {
  const [error, setError] = useState<unknown>(null);
  const [file, setFile] = useState<{ url: string; name: string; events: number } | null>(null);
  const run = async () => {
    setError(null);
    try {
      const data = await api.post<{ events?: unknown[] }>(
        `/api/v1/privacy/persons/${enc(props.id)}/export`,
        {},
      );
      if (file) URL.revokeObjectURL(file.url);
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
      setFile({
        url: URL.createObjectURL(blob),
        name: `segflow-export-${props.id.replace(/[^\w.-]+/g, '_')}.json`,
        events: data.events?.length ?? 0,
      });
    } catch (e) {
      setError(e);
    }
  };
  return (
    <>
      <p>
        <button type="button" onClick={run}>
          Export data
        </button>{' '}
        <span role="status">
          {file ? (
            <>
              Export ready ({fmt.n(file.events)} events):{' '}
              <a href={file.url} download={file.name}>
                Download {file.name}
              </a>
            </>
          ) : null}
        </span>
      </p>
      <ErrorNote error={error} />
    </>
  );
}

function AdminActions(props: { id: string }) {
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState('');
  const act = async (what: 'suppress' | 'delete') => {
    const sure = window.confirm(
      what === 'delete'
        ? `Delete ${props.id} everywhere? Only hashed tombstones stay. This cannot be undone.`
        : `Never message ${props.id} again?`,
    );
    if (!sure) return;
    setError(null);
    try {
      await api.post(
        `/api/v1/privacy/persons/${enc(props.id)}/${what}`,
        what === 'suppress' ? {} : undefined,
      );
      setDone(what === 'delete' ? 'Deleted.' : 'Suppressed.');
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section aria-labelledby="admin-title">
      <h2 id="admin-title">Privacy</h2>
      <ExportAction id={props.id} />
      <p>
        <button type="button" onClick={() => act('suppress')}>
          Suppress
        </button>{' '}
        <button type="button" class="danger" onClick={() => act('delete')}>
          Delete person
        </button>{' '}
        <span role="status">{done}</span>
      </p>
      <ErrorNote error={error} />
    </section>
  );
}

function Profile(props: { id: string; admin: boolean }) {
  const state = useData(
    async () => ({
      person: await api.get<Person>(`/api/v1/persons/${enc(props.id)}?events=0`),
      features: await api
        .get<Record<string, unknown>>(`/api/v1/persons/${enc(props.id)}/features`)
        .catch(() => ({}) as Record<string, unknown>),
      segments: await api.get<{
        memberships: { segment: string; enteredAt: string; exitedAt: string | null }[];
      }>(`/api/v1/persons/${enc(props.id)}/segments`),
    }),
    [props.id],
  );
  return (
    <Loaded state={state}>
      {({ person, features, segments }) => (
        <>
          <h1>{person.personId}</h1>
          <p>
            {person.identified ? 'Identified' : 'Anonymous'} · {fmt.n(person.eventCount)} events · first seen{' '}
            {fmt.date(person.firstSeen)} · last seen {fmt.date(person.lastSeen)}
          </p>
          <div class="columns">
            <DataTable
              caption="Traits (latest value)"
              rows={Object.entries(person.traits)}
              empty="No traits."
              columns={[
                { label: 'Trait', value: ([k]) => k },
                { label: 'Value', value: ([, v]) => asText(v) },
              ]}
            />
            <DataTable
              caption="Identities"
              rows={person.identifiers}
              columns={[
                { label: 'Identifier', value: (i) => i.identifier },
                { label: 'Kind', value: (i) => (i.isUser ? 'userId' : 'anonymous') },
              ]}
            />
            <DataTable
              caption="Consent"
              rows={Object.entries(person.consent)}
              empty="No consent recorded."
              columns={[
                { label: 'Purpose', value: ([k]) => k },
                { label: 'Granted', value: ([, v]) => (v ? 'yes' : 'no') },
              ]}
            />
          </div>
          <Reasons id={person.personId} />
          <h2>Segments</h2>
          <DataTable
            caption="Segment history"
            rows={segments.memberships}
            empty="In no segment."
            columns={[
              { label: 'Segment', value: (m) => <a href={href('segments', m.segment)}>{m.segment}</a> },
              { label: 'Entered', value: (m) => fmt.date(m.enteredAt) },
              { label: 'Exited', value: (m) => (m.exitedAt ? fmt.date(m.exitedAt) : 'still a member') },
            ]}
          />
          <ScoresSection id={person.personId} />
          <DeliveriesSection id={person.personId} />
          <TimelineSection id={person.personId} />
          <h2>Features</h2>
          <DataTable
            caption="Behavioral features at the last refresh"
            rows={Object.entries(features).filter(([, v]) => v !== null)}
            empty="No features yet: run a refresh."
            columns={[
              { label: 'Feature', value: ([k]) => k },
              { label: 'Value', value: ([, v]) => asText(v) },
            ]}
          />
          {props.admin ? <AdminActions id={person.personId} /> : null}
        </>
      )}
    </Loaded>
  );
}

export function PeoplePage(props: { route: Route; admin: boolean }) {
  const id = props.route.parts[0];
  if (id) return <Profile id={id} admin={props.admin} />;
  return <Search initial={props.route.query.get('q') ?? ''} />;
}
