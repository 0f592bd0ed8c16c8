import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { ApiKeyRole } from '../govern/api-keys.js';
import { HttpError } from './http-error.js';

/**
 * Dashboard sessions: signing in with a read or admin key opens a session held in server memory; the browser holds
 * only a random session id in an HttpOnly, SameSite=Strict cookie, so page script never sees the key. The key is kept
 * with the session and verified again on every request, so revoking it ends the session at once. State-changing
 * requests must also carry the session's CSRF token in a header, which a page on another origin cannot read.
 */
export const SESSION_COOKIE = 'segflow_session';
export const CSRF_HEADER = 'x-csrf-token';

export interface DashboardSession {
  id: string;
  key: string;
  role: Exclude<ApiKeyRole, 'write'>;
  csrfToken: string;
  expiresAt: number;
}

const token = () => randomBytes(32).toString('base64url');

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The value of one cookie in a Cookie header (no library: one name, set by us, base64url). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export class SessionStore {
  private readonly sessions = new Map<string, DashboardSession>();
  /** One-time sign-in links (`npm start` prints one): token → key, consumed on first use. */
  private readonly links = new Map<string, { key: string; expiresAt: number }>();

  constructor(private readonly ttlMs = 12 * 3600_000) {}

  open(key: string, role: DashboardSession['role']): DashboardSession {
    this.sweep();
    const session = { id: token(), key, role, csrfToken: token(), expiresAt: Date.now() + this.ttlMs };
    this.sessions.set(session.id, session);
    return session;
  }

  get(id: string | undefined): DashboardSession | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (s && s.expiresAt < Date.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  close(id: string): void {
    this.sessions.delete(id);
  }

  /** A sign-in link token for a key, valid once and for `ttlMs` (default 1 hour). */
  signInLink(key: string, ttlMs = 3600_000): string {
    const t = token();
    this.links.set(t, { key, expiresAt: Date.now() + ttlMs });
    return t;
  }

  consumeLink(t: string): string | undefined {
    const link = this.links.get(t);
    this.links.delete(t);
    return link && link.expiresAt >= Date.now() ? link.key : undefined;
  }

  /** Refuse a state-changing request whose CSRF header does not match its session. */
  checkCsrf(session: DashboardSession, header: string | string[] | undefined): void {
    const sent = Array.isArray(header) ? header[0] : header;
    if (!sent || !sameText(sent, session.csrfToken)) {
      throw new HttpError(
        403,
        'AUTH_FORBIDDEN',
        'this change did not carry the session’s CSRF token',
        `send the token from GET /dashboard/api/session in the ${CSRF_HEADER} header (the dashboard does this); reload the page if the session changed`,
      );
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, s] of this.sessions) if (s.expiresAt < now) this.sessions.delete(id);
    for (const [t, l] of this.links) if (l.expiresAt < now) this.links.delete(t);
  }
}

export function sessionCookie(id: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
}

/** The session a request's cookie names, if any (undefined when there is no cookie or it has expired). */
export function sessionOf(sessions: SessionStore, request: FastifyRequest): DashboardSession | undefined {
  return sessions.get(cookieValue(request.headers.cookie, SESSION_COOKIE));
}
