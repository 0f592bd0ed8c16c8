import { useEffect, useMemo, useState } from 'preact/hooks';

/**
 * Hash routes (`#/segments/champions`): the server serves one page at /, and links work without it knowing routes.
 */
export interface Route {
  page: string;
  parts: string[];
  query: URLSearchParams;
}

function parse(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] ?? 'overview', parts: parts.slice(1), query: new URLSearchParams(query) };
}

export function useRoute(): Route {
  const [hash, setHash] = useState(() => location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    window.addEventListener('hashchange', on);
    // Effects run after paint: a hash change between the first render and this line fired no event we heard (a link
    // followed at once after sign-in stayed on Overview). Read the hash once more now that we listen.
    on();
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return useMemo(() => parse(hash), [hash]);
}

export function href(...parts: string[]): string {
  return `#/${parts.map(encodeURIComponent).join('/')}`;
}

/**
 * The people behind a number that a segment condition can express (an RFM group, a tier, a cluster): the builder,
 * opened on a draft of that one condition, sizes it and lists a sample of its members — and saves nothing unless asked.
 */
export function peopleHref(where: Record<string, unknown>, label: string): string {
  const q = new URLSearchParams({ where: JSON.stringify(where), label });
  return `${href('segments', 'new')}?${q.toString()}`;
}
