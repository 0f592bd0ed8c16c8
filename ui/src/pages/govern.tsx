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
        </>
      ) : (
        <p class="muted">The audit log and API keys need an admin key.</p>
      )}
      <SegmentReview admin={props.admin} />
    </>
  );
}
