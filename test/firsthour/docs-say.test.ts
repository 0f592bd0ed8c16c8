// Findings of issue 24 where the docs said something else than the code: each checks the doc's words against the
// real behaviour, so the two cannot part again.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { createApiKey } from '../../src/govern/api-keys.js';
import { segflow, segflowAsync } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { basicAuth, spawnServe, startTestServer } from '../server/helpers.js';

const doc = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');

test("govern.md's role table: a read key at the collector gets the status the server answers (403, not 401)", async (t) => {
  const row = doc('docs/govern.md')
    .split('\n')
    .find((l) => l.startsWith('| read |'));
  assert.ok(row, 'govern.md has a row for the read role');
  const documented = Number(/\| read \| (\d{3})/.exec(row)?.[1]);
  const server = await startTestServer();
  t.after(() => server.close());
  const r = await fetch(`${server.url}/v1/track`, {
    method: 'POST',
    headers: { authorization: basicAuth(server.keys.read), 'content-type': 'application/json' },
    body: JSON.stringify({ userId: 'u1', event: 'Signed Up' }),
  });
  assert.equal(r.status, 403);
  assert.equal(documented, r.status);
  assert.match(doc('docs/collector.md'), /a read key gets `403`/);
});

test('collector.md: revoking a key while serve runs — the CLI revokes through the server, as the admin API does, at once', async (t) => {
  const text = doc('docs/collector.md').replace(/\s+/g, ' ');
  assert.doesNotMatch(text, /picked up within 10 s/);
  assert.match(text, /`segflow keys revoke` then runs through the server/);
  const db = join(tempDir(), 'serve.duckdb');
  const wh = await openWarehouse({ path: db });
  const admin = await createApiKey(wh, 'admin');
  const write = await createApiKey(wh, 'write');
  await wh.close();
  const serve = await spawnServe(db);
  t.after(() => serve.child.kill('SIGTERM'));
  const track = (key: string) =>
    fetch(`${serve.url}/v1/track`, {
      method: 'POST',
      headers: { authorization: basicAuth(key), 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'u1', event: 'Signed Up' }),
    });
  const cli = await segflowAsync(['--db', db, 'keys', 'revoke', write.id, '--json']);
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal((JSON.parse(cli.stdout) as { id: string }).id, write.id);
  assert.equal((await track(write.key)).status, 401, 'revoked at once by the CLI');
  const other = await createKeyThroughApi(serve.url, admin.key);
  const api = await fetch(`${serve.url}/api/v1/keys/${other.id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${admin.key}` },
  });
  assert.equal(api.status, 200, await api.text());
  assert.equal((await track(other.key)).status, 401, 'revoked at once by the API');
});

async function createKeyThroughApi(url: string, adminKey: string): Promise<{ id: string; key: string }> {
  const r = await fetch(`${url}/api/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ role: 'write' }),
  });
  const text = await r.text();
  assert.equal(r.status, 201, text);
  return JSON.parse(text) as { id: string; key: string };
}

test("init's playbook says its segments are in ./segments, where init writes them (not examples/segments)", () => {
  const dir = tempDir();
  const r = segflow(['init', '--dir', dir, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const playbook = readFileSync(join(dir, 'playbook.yaml'), 'utf8');
  assert.doesNotMatch(playbook, /examples\/segments/);
  assert.match(playbook, /Segments are in \.\/segments/);
});

test('govern.md: keys created and play.create are audited — through the admin API too, not only from the CLI', async (t) => {
  const text = doc('docs/govern.md').replace(/\s+/g, ' ');
  assert.match(text, /keys created and revoked/);
  assert.match(text, /`play\.create`/);
  const dir = tempDir();
  const playbook = join(dir, 'playbook.yaml');
  writeFileSync(
    playbook,
    'plays:\n  - { name: banner, segment: buyers, offer: a banner, channel: webhook, destination: hook }\n' +
      'destinations:\n  hook: { type: webhook, url: "http://127.0.0.1:9/hook", secret: "whsec_c2VnZmxvdyBleGFtcGxlIHNlY3JldCAzMiBieXRlcyE=" }\n',
  );
  const server = await startTestServer({ playbook });
  t.after(() => server.close());
  const post = (path: string, body: object) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.keys.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  assert.equal((await post('/api/v1/keys', { role: 'read' })).status, 201);
  assert.equal((await post('/api/v1/activate/run', {})).status, 200);
  const actions = (
    await server.wh.query<{ action: string; target: string | null }>('SELECT action, target FROM audit_log')
  ).map((r) => `${r.action} ${r.target ?? ''}`.trim());
  assert.ok(actions.includes('key.create'), actions.join('\n'));
  assert.ok(actions.includes('play.create banner'), actions.join('\n'));
});
