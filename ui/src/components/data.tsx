import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api';

/** Load data for a page; `reload` fetches again (after an action). */
export function useData<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const run = useCallback(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run };
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : null;
  return (
    <p class="error" role="alert">
      {e ? `${e.message}${e.hint ? ` — ${e.hint}` : ''}` : String((error as Error).message ?? error)}
    </p>
  );
}

/** Data, its error or a loading note. */
export function Loaded<T>(props: {
  state: { data?: T; error?: unknown; loading: boolean };
  children: (data: T) => ComponentChildren;
}) {
  if (props.state.error) return <ErrorNote error={props.state.error} />;
  if (props.state.data === undefined) return <p class="muted">Loading…</p>;
  return <>{props.children(props.state.data)}</>;
}

export const fmt = {
  n: (x: number | null | undefined) => (x === null || x === undefined ? '—' : x.toLocaleString('en-US')),
  money: (x: number | null | undefined) =>
    x === null || x === undefined
      ? '—'
      : x.toLocaleString('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 }),
  pct: (x: number | null | undefined, digits = 1) =>
    x === null || x === undefined || Number.isNaN(x) ? '—' : `${(100 * x).toFixed(digits)}%`,
  date: (iso: string | null | undefined) => (iso ? iso.slice(0, 16).replace('T', ' ') : '—'),
  day: (iso: string | null | undefined) => (iso ? iso.slice(0, 10) : '—'),
  num: (x: number | null | undefined, digits = 3) =>
    x === null || x === undefined || Number.isNaN(x) ? '—' : x.toFixed(digits),
};
