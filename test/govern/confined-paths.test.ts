import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { at, events, HOUR, refresh, track } from '../activate/helpers.js';
import { tempDir } from '../helpers/temp.js';
import { startTestServer, type TestServer } from '../server/helpers.js';

/** Every path under `dir` (recursively), so a test can show nothing new appeared there. */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe('files the server writes on a request stay under the data root', () => {
  const outside = tempDir('segflow-outside-');
  const root = tempDir('segflow-root-');
  let server: TestServer;
  before(async () => {
    // The data root defaults to the folder holding the database file.
    server = await startTestServer({ dbPath: join(root, 'db.duckdb') });
    await events(server.wh, [track('ann', 'Order Completed', at(HOUR), { properties: { revenue: 5 } })]);
    await refresh(server.wh, at(2 * HOUR));
    symlinkSync(outside, join(root, 'escape'));
    mkdirSync(join(root, 'inner'));
    symlinkSync(join(outside, 'sub'), join(root, 'inner', 'dangling'));
  });
  after(() => server.close());

  const exportTo = (dir: string) =>
    fetch(`${server.url}/api/v1/audiences/recent-buyers/export`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.keys.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ dir }),
    });

  test('a relative folder is written under the root', async () => {
    const res = await exportTo('audiences/weekly');
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { path: string; rows: number };
    assert.equal(body.rows, 1);
    assert.ok(body.path.startsWith(join(root, 'audiences', 'weekly')), body.path);
    assert.ok(existsSync(body.path));
  });

  for (const [what, dir, message] of [
    ['an absolute path', join(outside, 'abs'), /absolute paths are refused/],
    ['../..', '../..', /`\.\.` steps out/],
    ['.. hidden in the middle', 'audiences/../../x', /`\.\.` steps out/],
    ['a symlink pointing outside', 'escape', /symlink that points outside/],
    ['a folder below a symlink pointing outside', 'escape/deeper', /symlink that points outside/],
    ['a dangling symlink', 'inner/dangling/x', /symlink that points nowhere/],
    ['an over-long name', 'a'.repeat(300), /longer than 255 bytes/],
  ] as const) {
    test(`${what} is refused with 400 and nothing is created outside the root`, async () => {
      const before = tree(outside);
      const rootBefore = tree(root);
      const res = await exportTo(dir);
      assert.equal(res.status, 400);
      const body = (await res.json()) as { code: string; message: string; hint: string };
      assert.equal(body.code, 'PATH_NOT_ALLOWED');
      assert.match(body.message, message);
      assert.match(body.hint, /relative to the data root/);
      assert.deepEqual(tree(outside), before);
      assert.deepEqual(tree(root), rootBefore);
    });
  }
});
