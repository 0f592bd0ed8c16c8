import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, rememberSession, type Session } from './api';
import { ErrorNote } from './components/data';
import { BehaviourPage } from './pages/behaviour';
import { GovernPage } from './pages/govern';
import { ModelsPage } from './pages/models';
import { OverviewPage } from './pages/overview';
import { PeoplePage } from './pages/people';
import { PlaysPage } from './pages/plays';
import { SegmentsPage } from './pages/segments';
import { href, useRoute } from './router';
import './styles.css';

const PAGES = [
  ['overview', 'Overview'],
  ['behaviour', 'Behaviour'],
  ['segments', 'Segments'],
  ['plays', 'Plays'],
  ['people', 'People'],
  ['models', 'Models'],
  ['govern', 'Govern'],
] as const;

function SignIn(props: { onSignedIn: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      props.onSignedIn(await api.post<Session>('/dashboard/api/session', { key: key.trim() }));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <main class="signin">
      <h1>segflow</h1>
      <form onSubmit={submit}>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autocomplete="off"
          value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          required
        />
        <p class="muted">
          A read key shows everything; an admin key can also act. Write keys cannot sign in.
        </p>
        <button type="submit">Sign in</button>
        <ErrorNote error={error} />
      </form>
    </main>
  );
}

function Page(props: { session: Session }) {
  const route = useRoute();
  const admin = props.session.role === 'admin';
  const title = PAGES.find(([p]) => p === route.page)?.[1] ?? 'Not found';
  useEffect(() => {
    document.title = `${title} · segflow`;
  }, [title]);
  switch (route.page) {
    case 'overview':
      return <OverviewPage />;
    case 'behaviour':
      return <BehaviourPage route={route} />;
    case 'segments':
      return <SegmentsPage route={route} admin={admin} />;
    case 'plays':
      return <PlaysPage route={route} admin={admin} />;
    case 'people':
      return <PeoplePage route={route} admin={admin} />;
    case 'models':
      return <ModelsPage />;
    case 'govern':
      return <GovernPage admin={admin} />;
    default:
      return <h1>No such page</h1>;
  }
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const route = useRoute();
  useEffect(() => {
    api.get<Session>('/dashboard/api/session').then(
      (s) => {
        rememberSession(s);
        setSession(s);
      },
      () => setSession(null),
    );
  }, []);
  if (session === undefined) return <p class="muted">Loading…</p>;
  if (session === null) {
    return (
      <SignIn
        onSignedIn={(s) => {
          rememberSession(s);
          setSession(s);
        }}
      />
    );
  }
  const signOut = async () => {
    await api.post('/dashboard/api/sign-out').catch(() => undefined);
    rememberSession(null);
    setSession(null);
  };
  return (
    <>
      <header class="top">
        <a class="brand" href={href('overview')}>
          segflow
        </a>
        <nav aria-label="Pages">
          {PAGES.map(([p, label]) => (
            <a href={href(p)} aria-current={route.page === p ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="role">{session.role === 'admin' ? 'Admin' : 'Read only'}</span>
        <button type="button" class="link" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        <Page session={session} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
