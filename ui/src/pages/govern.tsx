import { useState } from 'preact/hooks';
import { api, enc } from '../api';
import { ErrorNote, fmt, Loaded, useData } from '../components/data';
import { DataTable } from '../components/table';

interface Key {
  id: string;
  role: string;
  name: string | null;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}
interface Review {
  segment: string;
  size: number;
  share: number;
  recommendation: 'keep' | 'merge' | 'retire';
  reasons: string[];
}
interface AuditEntry {
  id: number;
  occurred_at: string;
  actor: string;
  action: string;
  target: string | null;
  source: string | null;
}

function Keys() {
  const state = useData(() => api.get<{ keys: Key[] }>('/api/v1/keys'), []);
  const [role, setRole] = useState('read');
  const [name, setName] = useState('');
  const [created, setCreated] = useState<(Key & { key: string }) | null>(null);
  const [error, setError] = useState<unknown>(null);
  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      setCreated(await api.post<Key & { key: string }>('/api/v1/keys', { role, ...(name ? { name } : {}) }));
      state.reload();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (k: Key) => {
    if (!window.confirm(`Revoke key ${k.name ?? k.prefix}? It stops working at once.`)) return;
    try {
      await api.del(`/api/v1/keys/${enc(k.id)}`);
      state.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-labelledby="keys-title">
      <h2 id="keys-title">API keys</h2>
      <form onSubmit={create} class="inline">
        <label for="key-role">Role</label>{' '}
        <select id="key-role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
          <option value="read">read</option>
          <option value="write">write</option>
          <option value="admin">admin</option>
        </select>{' '}
        <label for="key-name">Name</label>{' '}
        <input id="key-name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />{' '}
        <button type="submit">Create key</button>
      </form>
      {created ? (
        <p class="created" role="status">
          New {created.role} key (shown this once): <code data-testid="new-key">{created.key}</code>
        </p>
      ) : null}
      <ErrorNote error={error} />
      <Loaded state={state}>
        {(r) => (
          <DataTable
            caption="Live keys"
            rows={r.keys}
            columns={[
              { label: 'Name', value: (k) => k.name ?? '—' },
              { label: 'Role', value: (k) => k.role },
              { label: 'Starts with', value: (k) => k.prefix },
              { label: 'Created', value: (k) => fmt.date(k.createdAt) },
              {
                label: 'Action',
                value: (k) => (
                  <button type="button" onClick={() => revoke(k)} aria-label={`Revoke ${k.name ?? k.prefix}`}>
                    Revoke
                  </button>
                ),
              },
            ]}
          />
        )}
      </Loaded>
    </section>
  );
}

function Audit() {
  const [action, setAction] = useState('');
  const state = useData(
    () =>
      api.get<{ entries: AuditEntry[] }>(`/api/v1/audit?limit=100${action ? `&action=${enc(action)}` : ''}`),
    [action],
  );
  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit log</h2>
      <p>
        <label for="audit-action">Action</label>{' '}
        <input
          id="audit-action"
          value={action}
          placeholder="e.g. person.delete"
          onChange={(e) => setAction((e.target as HTMLInputElement).value)}
        />
      </p>
      <Loaded state={state}>
        {(r) => (
          <DataTable
            caption="The latest 100 entries, newest first"
            rows={r.entries}
            columns={[
              { label: 'When', value: (e) => fmt.date(e.occurred_at) },
              { label: 'Who', value: (e) => e.actor },
              { label: 'Action', value: (e) => e.action },
              { label: 'Target', value: (e) => e.target ?? '—' },
            ]}
          />
        )}
      </Loaded>
    </section>
  );
}

interface PrivacyRequest {
  id: number;
  kind: 'delete' | 'tombstone';
  tombstone: string;
  persons: number;
  requestedAt: string;
  erasedAt: string | null;
}
interface Retention {
  asOf: string;
  rules: { key: string; keep: string; before: string; events: number }[];
}

/** Privacy requests (deletions and tombstones) and whether their erasure has reached storage. Admins only. */
function PrivacyRequests() {
  const state = useData(() => api.get<{ requests: PrivacyRequest[] }>('/api/v1/privacy/requests'), []);
  return (
    <section aria-labelledby="privacy-title">
      <h2 id="privacy-title">Privacy requests</h2>
      <p class="muted">
        Delete or suppress a person from their page (People). An erasure reaches the database file when the
        server next starts (or with `segflow privacy erase`).
      </p>
      <Loaded state={state}>
        {(r) => (
          <DataTable
            caption="Privacy requests, newest first"
            rows={r.requests}
            empty="No privacy request yet."
            columns={[
              { label: 'Request', value: (q) => String(q.id), numeric: true },
              { label: 'Kind', value: (q) => q.kind },
              { label: 'People', value: (q) => fmt.n(q.persons), numeric: true },
              { label: 'Requested', value: (q) => fmt.date(q.requestedAt) },
              { label: 'Erased from storage', value: (q) => (q.erasedAt ? fmt.date(q.erasedAt) : 'pending') },
              { label: 'Tombstone', value: (q) => `${q.tombstone.slice(0, 12)}…` },
            ]}
          />
        )}
      </Loaded>
    </section>
  );
}

/** The retention windows of segflow.config.yaml, what a purge would delete now, and (admins) the purge. */
function RetentionSection(props: { admin: boolean }) {
  const state = useData(() => api.get<Retention>('/api/v1/govern/retention'), []);
  const [done, setDone] = useState('');
  const [error, setError] = useState<unknown>(null);
  const purge = async (events: number) => {
    if (!window.confirm(`Delete ${events} events older than their retention window? This cannot be undone.`))
      return;
    setError(null);
    try {
      const out = await api.post<Retention>('/api/v1/govern/purge', { dryRun: false });
      setDone(`Purged ${fmt.n(out.rules.reduce((n, r) => n + r.events, 0))} events.`);
      state.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section aria-labelledby="retention-title">
      <h2 id="retention-title">Retention</h2>
      <span role="status">{done}</span>
      <ErrorNote error={error} />
      <Loaded state={state}>
        {(r) => {
          const due = r.rules.reduce((n, x) => n + x.events, 0);
          return (
            <>
              <DataTable
                caption={`Retention windows (retention: in segflow.config.yaml) and the events past them now`}
                rows={r.rules}
                empty="No retention window is configured: events are kept for ever. Add retention: to segflow.config.yaml."
                columns={[
                  { label: 'Events', value: (x) => x.key },
                  { label: 'Keep', value: (x) => x.keep },
                  { label: 'Older than', value: (x) => fmt.date(x.before) },
                  { label: 'Past their window', value: (x) => fmt.n(x.events), numeric: true },
                ]}
              />
              {props.admin && due > 0 ? (
                <p>
                  <button type="button" class="danger" onClick={() => purge(due)}>
                    Purge {fmt.n(due)} events
                  </button>
                </p>
              ) : null}
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

function SegmentReview(props: { admin: boolean }) {
  const state = useData(() => api.get<{ segments: Review[] }>('/api/v1/govern/review'), []);
  const [done, setDone] = useState('');
  const [error, setError] = useState<unknown>(null);
  const apply = async (r: Review) => {
    if (!window.confirm(`Retire ${r.segment}? Its history stays.`)) return;
    try {
      const out = await api.post<{ retired: boolean }>('/api/v1/govern/review/apply', { segment: r.segment });
      setDone(out.retired ? `Retired ${r.segment}.` : `${r.segment} was not retired.`);
      state.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section aria-labelledby="review-title">
      <h2 id="review-title">Segment review</h2>
      <span role="status">{done}</span>
      <ErrorNote error={error} />
      <Loaded state={state}>
        {(r) => (
          <DataTable
            caption="Keep, merge or retire each segment, with reasons"
            rows={r.segments}
            columns={[
              { label: 'Segment', value: (s) => s.segment },
              { label: 'Size', value: (s) => fmt.n(s.size), numeric: true },
              { label: 'Recommendation', value: (s) => s.recommendation },
              { label: 'Reasons', value: (s) => s.reasons.join('; ') },
              ...(props.admin
                ? [
                    {
                      label: 'Apply',
                      value: (s: Review) =>
                        s.recommendation === 'retire' ? (
                          <button type="button" onClick={() => apply(s)} aria-label={`Retire ${s.segment}`}>
                            Retire
                          </button>
                        ) : (
                          '—'
                        ),
                    },
                  ]
                : []),
            ]}
          />
        )}
      </Loaded>
    </section>
  );
}

export function GovernPage(props: { admin: boolean }) {
  return (
    <>
      <h1>Govern</h1>
      {props.admin ? (
        <>
          <Keys />
          <Audit />
          <PrivacyRequests />
        </>
      ) : (
        <p class="muted">The audit log, API keys and privacy requests need an admin key.</p>
      )}
      <RetentionSection admin={props.admin} />
      <SegmentReview admin={props.admin} />
    </>
  );
}
