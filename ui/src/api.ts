/**
 * The dashboard's one way to the server: the admin API (/api/v1) with the session cookie, and the CSRF token on every
 * change. Errors carry the server's code, message and hint, which pages show as text.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export type Role = 'read' | 'admin';
export interface Session {
  role: Role;
  csrfToken: string;
}

let csrfToken = '';

export function rememberSession(s: Session | null): void {
  csrfToken = s?.csrfToken ?? '';
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    throw new ApiError(
      res.status,
      String(json.code ?? 'HTTP_ERROR'),
      String(json.message ?? `the server answered ${res.status}`),
      typeof json.hint === 'string' ? json.hint : undefined,
    );
  }
  return json as T;
}

export const api = {
  get: <T>(path: string) => call<T>('GET', path),
  post: <T>(path: string, body: unknown = {}) => call<T>('POST', path, body),
  del: <T>(path: string) => call<T>('DELETE', path),
};

/** A query string from values (undefined ones left out). */
export function qs(values: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== undefined) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;
