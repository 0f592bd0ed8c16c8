import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../helpers/temp.js';
import { startTestServer, type TestServer } from './helpers.js';

/** Signing in to the dashboard: cookies, CSRF, roles and the Content-Security-Policy, over real HTTP. */
describe('dashboard sessions', () => {
  let server: TestServer;
  const ui = tempDir('segflow-ui-');

  before(async () => {
    // A stand-in build of the front end: these tests are about the server side, not the pages.
    mkdirSync(join(ui, 'assets'));
    writeFileSync(
      join(ui, 'index.html'),
      '<!doctype html><title>t</title><script type="module" src="/assets/a.js"></script>',
    );
    writeFileSync(join(ui, 'assets', 'a.js'), 'export {};');
    server = await startTestServer({ uiDir: ui });
  });
  after(() => server.close());

  const signIn = async (key: string) => {
    const r = await fetch(`${server.url}/dashboard/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    });
    return {
      status: r.status,
      cookie: r.headers.get('set-cookie'),
      json: (await r.json()) as Record<string, string>,
    };
  };

  test('the page is served with a Content-Security-Policy that allows no inline script', async () => {
    const r = await fetch(`${server.url}/`);
    assert.equal(r.status, 200);
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /script-src[^;]*unsafe-inline/);
    assert.match(await r.text(), /<title>t<\/title>/);
    const js = await fetch(`${server.url}/assets/a.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.equal((await fetch(`${server.url}/assets/../../package.json`)).status, 404);
  });

  test('a write key is refused; an unknown key is refused', async () => {
    const w = await signIn(server.keys.write);
    assert.equal(w.status, 403);
    assert.equal(w.cookie, null);
    assert.equal((await signIn('not-a-key-but-long-enough')).status, 401);
  });

  test('a read key gets an HttpOnly, SameSite=Strict session that reads but cannot act', async () => {
    const s = await signIn(server.keys.read);
    assert.equal(s.status, 200);
    assert.equal(s.json.role, 'read');
    assert.match(s.cookie ?? '', /HttpOnly/);
    assert.match(s.cookie ?? '', /SameSite=Strict/);
    const cookie = s.cookie!.split(';')[0]!;
    const overview = await fetch(`${server.url}/api/v1/overview`, { headers: { cookie } });
    assert.equal(overview.status, 200);
    const create = await fetch(`${server.url}/api/v1/keys`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': s.json.csrfToken!, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'admin' }),
    });
    assert.equal(create.status, 403);
  });

  test('an admin session acts only with its CSRF token, and signing out ends it', async () => {
    const s = await signIn(server.keys.admin);
    const cookie = s.cookie!.split(';')[0]!;
    const body = JSON.stringify({ role: 'read', name: 'from-dashboard' });
    const headers = { cookie, 'content-type': 'application/json' };
    const without = await fetch(`${server.url}/api/v1/keys`, { method: 'POST', headers, body });
    assert.equal(without.status, 403);
    assert.equal(((await without.json()) as { message: string }).message.includes('CSRF'), true);
    const wrong = await fetch(`${server.url}/api/v1/keys`, {
      method: 'POST',
      headers: { ...headers, 'x-csrf-token': 'x'.repeat(43) },
      body,
    });
    assert.equal(wrong.status, 403);
    const ok = await fetch(`${server.url}/api/v1/keys`, {
      method: 'POST',
      headers: { ...headers, 'x-csrf-token': s.json.csrfToken! },
      body,
    });
    assert.equal(ok.status, 201);
    const out = await fetch(`${server.url}/dashboard/api/sign-out`, {
      method: 'POST',
      headers: { ...headers, 'x-csrf-token': s.json.csrfToken! },
      body: '{}',
    });
    assert.equal(out.status, 200);
    assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
    assert.equal((await fetch(`${server.url}/api/v1/overview`, { headers: { cookie } })).status, 401);
  });

  test('revoking the key ends its sessions at once', async () => {
    const created = await fetch(`${server.url}/api/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.keys.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'read' }),
    });
    const key = (await created.json()) as { id: string; key: string };
    const s = await signIn(key.key);
    const cookie = s.cookie!.split(';')[0]!;
    assert.equal((await fetch(`${server.url}/api/v1/overview`, { headers: { cookie } })).status, 200);
    await fetch(`${server.url}/api/v1/keys/${key.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${server.keys.admin}` },
    });
    assert.equal((await fetch(`${server.url}/api/v1/overview`, { headers: { cookie } })).status, 401);
  });

  test('a one-time sign-in link opens a session once', async () => {
    const token = server.sessions.signInLink(server.keys.read);
    const first = await fetch(`${server.url}/dashboard/sign-in?token=${token}`, { redirect: 'manual' });
    assert.equal(first.status, 303);
    assert.match(
      first.headers.get('set-cookie') ?? '',
      /segflow_session=.+; Path=\/; HttpOnly; SameSite=Strict/,
    );
    const again = await fetch(`${server.url}/dashboard/sign-in?token=${token}`, { redirect: 'manual' });
    assert.equal(again.status, 401);
  });
});
