import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { packagePath } from '../config/package-files.js';
import type { Warehouse } from '../engine/warehouse.js';
import { verifyApiKey } from '../govern/api-keys.js';
import { recordAudit } from '../govern/audit.js';
import { HttpError } from './http-error.js';
import { validate } from './schemas.js';
import {
  CSRF_HEADER,
  clearedSessionCookie,
  type DashboardSession,
  type SessionStore,
  sessionCookie,
  sessionOf,
} from './session.js';

/**
 * The dashboard's HTTP side: the built front end (ui/, built into dist/ui by `npm run build`) at `/`, and signing in
 * and out. Pages read and act through the admin API (/api/v1) with the session cookie in place of a bearer key.
 */
export const DEFAULT_UI_DIR = packagePath('dist', 'ui');

/**
 * No inline script anywhere; styles may be inline because the chart library sizes its SVG with style attributes
 * (styles cannot run code). Everything else comes from this origin only.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

function securityHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('x-frame-options', 'DENY');
}

/** Every file of the built front end, read once: only these paths are served, so no path can escape the folder. */
function loadAssets(dir: string): Map<string, { body: Buffer; type: string }> {
  const files = new Map<string, { body: Buffer; type: string }>();
  if (!existsSync(dir)) return files;
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const url = `/${relative(dir, full).split(sep).join('/')}`;
        files.set(url, {
          body: readFileSync(full),
          type: CONTENT_TYPES[extname(name)] ?? 'application/octet-stream',
        });
      }
    }
  };
  walk(dir);
  return files;
}

export const SessionSchema = z
  .object({
    role: z.enum(['read', 'admin']).describe('read keys see everything; admin keys can also act'),
    csrfToken: z.string().describe(`send it in the ${CSRF_HEADER} header of every change`),
  })
  .meta({ id: 'DashboardSession' });

const SignInBody = z.object({ key: z.string().min(1).max(256).describe('a read or admin API key') });

async function signIn(wh: Warehouse, sessions: SessionStore, key: string): Promise<DashboardSession> {
  const verified = await verifyApiKey(wh, key);
  if (!verified) {
    throw new HttpError(
      401,
      'AUTH_INVALID',
      'the key is unknown or has been revoked',
      'paste a read or admin key (create one with `segflow keys create --role read`)',
    );
  }
  if (verified.role === 'write') {
    throw new HttpError(
      403,
      'AUTH_FORBIDDEN',
      'a write key only sends events; it cannot sign in to the dashboard',
      'sign in with a read key (to look) or an admin key (to act): `segflow keys create --role read`',
    );
  }
  const session = sessions.open(key, verified.role);
  await recordAudit(wh, {
    actor: `key:${verified.id}`,
    action: 'dashboard.sign-in',
    target: null,
    source: 'dashboard',
  });
  return session;
}

export function registerDashboardRoutes(
  app: FastifyInstance,
  options: { wh: Warehouse; sessions: SessionStore; uiDir?: string },
): void {
  const { wh, sessions } = options;
  const assets = loadAssets(options.uiDir ?? DEFAULT_UI_DIR);
  const maxAge = 12 * 3600;

  const index = (_request: FastifyRequest, reply: FastifyReply) => {
    securityHeaders(reply);
    const page = assets.get('/index.html');
    if (!page) {
      reply.code(503).header('content-type', 'text/plain; charset=utf-8');
      return 'The dashboard has not been built: run `npm run build` (npm install does this), then restart.\n';
    }
    reply.header('content-type', page.type).header('cache-control', 'no-cache');
    return page.body;
  };
  app.get('/', { config: { kind: 'ops' } }, index);
  app.get('/assets/*', { config: { kind: 'ops' } }, async (request, reply) => {
    const file = assets.get(request.url.split('?')[0]!);
    if (!file) {
      throw new HttpError(404, 'ROUTE_NOT_FOUND', `${request.url.slice(0, 200)} is not a dashboard file`);
    }
    securityHeaders(reply);
    // Built file names carry a content hash: they never change.
    reply.header('content-type', file.type).header('cache-control', 'public, max-age=31536000, immutable');
    return file.body;
  });

  app.get('/dashboard/api/session', { config: { kind: 'ops' } }, async (request) => {
    const s = sessionOf(sessions, request);
    if (!s || !(await verifyApiKey(wh, s.key))) {
      throw new HttpError(401, 'AUTH_MISSING', 'not signed in', 'sign in with a read or admin key');
    }
    return { role: s.role, csrfToken: s.csrfToken } satisfies z.input<typeof SessionSchema>;
  });
  app.post('/dashboard/api/session', { config: { kind: 'ops' } }, async (request, reply) => {
    const { key } = validate(SignInBody, request.body, 'body');
    const s = await signIn(wh, sessions, key);
    reply.header('set-cookie', sessionCookie(s.id, maxAge));
    return { role: s.role, csrfToken: s.csrfToken } satisfies z.input<typeof SessionSchema>;
  });
  app.post('/dashboard/api/sign-out', { config: { kind: 'ops' } }, async (request, reply) => {
    const s = sessionOf(sessions, request);
    if (s) {
      sessions.checkCsrf(s, request.headers[CSRF_HEADER]);
      sessions.close(s.id);
    }
    reply.header('set-cookie', clearedSessionCookie());
    return { signedOut: true };
  });
  // The one-time link `npm start` prints: opens a session for the key it was made for, then is gone.
  app.get('/dashboard/sign-in', { config: { kind: 'ops' } }, async (request, reply) => {
    const token = (request.query as { token?: unknown }).token;
    const key = typeof token === 'string' ? sessions.consumeLink(token) : undefined;
    securityHeaders(reply);
    if (!key) {
      reply.code(401).header('content-type', 'text/plain; charset=utf-8');
      return 'This sign-in link has been used or has expired. Sign in with an API key at /.\n';
    }
    const s = await signIn(wh, sessions, key);
    reply.header('set-cookie', sessionCookie(s.id, maxAge));
    return reply.redirect('/', 303);
  });
}
