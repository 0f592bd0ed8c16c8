import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { segflowAsync } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { type ServeProcess, spawnServe } from '../server/helpers.js';

/**
 * `segflow stream status`: what the server holding the database says of its stream (through /healthz), and mode
 * `off` with the reason when no server holds it.
 */
const root = tempDir('segflow-stream-status-');
const db = join(root, 'db.duckdb');
let server: ServeProcess;

before(async () => {
  await (await openWarehouse({ path: db })).close();
  server = await spawnServe(db);
});

after(async () => {
  if (server.child.exitCode === null) {
    server.child.kill('SIGTERM');
    await server.exited;
  }
});

test("segflow stream status prints the serving stream's state", async () => {
  const json = await segflowAsync(['--db', db, 'stream', 'status', '--json'], { cwd: root });
  assert.equal(json.status, 0, json.stderr);
  const status = JSON.parse(json.stdout) as { enabled: boolean; mode: string; features: string };
  assert.equal(status.enabled, true);
  assert.match(status.mode, /^(streaming|batch)$/);
  assert.equal(status.features, 'none', 'no segments, no features read');

  const human = await segflowAsync(['--db', db, 'stream', 'status'], { cwd: root });
  assert.equal(human.status, 0, human.stderr);
  assert.match(human.stdout, /^mode {9}(streaming|batch)/m);
  assert.match(human.stdout, /^evaluations {2}\d+/m);
});

test('with no server, the status is off and says why', async () => {
  const other = join(root, 'other.duckdb');
  await (await openWarehouse({ path: other })).close();
  const r = await segflowAsync(['--db', other, 'stream', 'status', '--json'], { cwd: root });
  assert.equal(r.status, 0, r.stderr);
  const status = JSON.parse(r.stdout) as { mode: string; reason: string };
  assert.equal(status.mode, 'off');
  assert.match(status.reason, /no segflow serve holds/);
});
