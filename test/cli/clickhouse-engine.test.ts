import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { writeGeneratedFiles } from '../../src/generate/index.js';
import { segflowAsync } from '../helpers/cli.js';
import { segflowHere } from '../helpers/cli-in-process.js';
import {
  type ClickHouseHttpEndpoint,
  startClickHouseHttpEndpoint,
} from '../helpers/clickhouse-http-endpoint.js';
import { tempDir } from '../helpers/temp.js';
import { spawnServe } from '../server/helpers.js';

/** The CLI on ClickHouse: --engine and --clickhouse-url select it, the password comes from the environment. */
describe('segflow --engine clickhouse', () => {
  let endpoint: ClickHouseHttpEndpoint;
  const dir = tempDir();
  before(async () => {
    endpoint = await startClickHouseHttpEndpoint({ password: 'pw' });
    const wh = await openWarehouse({
      clickhouse: { url: endpoint.url, database: 'segflow', password: 'pw' },
    });
    await wh.close();
  });
  after(async () => {
    delete process.env.SEGFLOW_CLICKHOUSE_PASSWORD;
    await endpoint.close();
  });

  test('runs a query on the server named by --clickhouse-url', async () => {
    process.env.SEGFLOW_CLICKHOUSE_PASSWORD = 'pw';
    const r = await segflowHere(
      [
        '--engine',
        'clickhouse',
        '--clickhouse-url',
        endpoint.url,
        'sql',
        'SELECT count(*) AS n FROM events',
        '--json',
      ],
      dir,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { columns: ['n'], rows: [{ n: 0 }] });
  });

  test('import sends the file to the server (which cannot read this machine): every line is stored', async () => {
    process.env.SEGFLOW_CLICKHOUSE_PASSWORD = 'pw';
    const file = join(dir, 'events.ndjson');
    await writeGeneratedFiles({ people: 5, days: 10, seed: 3, profile: 'saas', out: file });
    const lines = readFileSync(file, 'utf8').trim().split('\n').length;
    const url = ['--engine', 'clickhouse', '--clickhouse-url', endpoint.url];
    const imported = await segflowHere([...url, 'import', file, '--no-rejects', '--json'], dir);
    assert.equal(imported.status, 0, imported.stderr);
    const summary = JSON.parse(imported.stdout) as { received: number; inserted: number };
    assert.deepEqual([summary.received, summary.inserted], [lines, lines]);
    const counted = await segflowHere([...url, 'sql', 'SELECT count(*) AS n FROM events', '--json'], dir);
    assert.deepEqual(JSON.parse(counted.stdout), { columns: ['n'], rows: [{ n: lines }] });
  });

  test('a wrong password fails with the setting to fix', async () => {
    process.env.SEGFLOW_CLICKHOUSE_PASSWORD = 'wrong';
    const r = await segflowHere(['--clickhouse-url', endpoint.url, 'sql', 'SELECT 1', '--json'], dir);
    assert.notEqual(r.status, 0);
    const { error } = JSON.parse(r.stdout) as { error: { code: string; hint: string } };
    assert.equal(error.code, 'CLICKHOUSE_CONFIG');
    assert.match(error.hint, /SEGFLOW_CLICKHOUSE_PASSWORD/);
  });

  // On a server (which other processes may be writing to) the erasure merges the masked rows out of their parts and
  // waits for the server's cleanup to remove the parts they replaced: about 40 s on chdb (old_parts_lifetime 0, then
  // the cleanup every 30 to 40 s).
  test('privacy erase on a ClickHouse server leaves no deleted row in its parts', {
    timeout: 300_000,
  }, async () => {
    process.env.SEGFLOW_CLICKHOUSE_PASSWORD = 'pw';
    const url = ['--engine', 'clickhouse', '--clickhouse-url', endpoint.url];
    const sql = async (query: string) => {
      const r = await segflowHere([...url, 'sql', query, '--json'], dir);
      assert.equal(r.status, 0, r.stderr);
      return (JSON.parse(r.stdout) as { rows: Record<string, unknown>[] }).rows;
    };
    const [someone] = await sql(
      'SELECT user_id FROM events WHERE user_id IS NOT NULL ORDER BY user_id LIMIT 1',
    );
    const id = String(someone!.user_id);
    const stored = `SELECT count() AS n FROM events WHERE user_id = '${id}' SETTINGS apply_deleted_mask = 0`;
    const deleted = await segflowHere([...url, 'privacy', 'delete', id, '--json'], dir);
    assert.equal(deleted.status, 0, deleted.stderr);
    assert.deepEqual(await sql(`SELECT count() AS n FROM events WHERE user_id = '${id}'`), [{ n: 0 }]);
    // Hidden from reads, still in the parts: what the erasure step is for.
    assert.ok(Number((await sql(stored))[0]!.n) > 0);
    const erased = await segflowHere([...url, 'privacy', 'erase', '--json'], dir);
    assert.equal(erased.status, 0, erased.stderr);
    const r = JSON.parse(erased.stdout) as { requests: number; database: { tables: string[] } };
    assert.equal(r.requests, 1);
    assert.ok(r.database.tables.includes('events'));
    assert.deepEqual(await sql(stored), [{ n: 0 }]);
  });

  test('serve on the embedded engine advertises itself beside its folder; commands run through it', {
    timeout: 120_000,
  }, async () => {
    const here = tempDir();
    const env = { SEGFLOW_ENGINE: 'clickhouse' };
    const serve = await spawnServe('', [], { cwd: here, env });
    try {
      const advertised = join(here, 'segflow.clickhouse.serve.json');
      assert.equal(
        (JSON.parse(readFileSync(advertised, 'utf8')) as { db: string }).db,
        join(here, 'segflow.clickhouse'),
      );
      // chdb runs one engine per folder: a second process could not open it, so the command goes to the server.
      const r = await segflowAsync(['sql', 'SELECT count(*) AS n FROM events', '--json'], { cwd: here, env });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { columns: ['n'], rows: [{ n: 0 }] });
      assert.match(serve.stderr(), /"route":"\/api\/local\/cli","status":200/);
      // A second server on the same folder is refused, naming the running one.
      const second = await segflowAsync(['serve', '--port', '0'], { cwd: here, env });
      assert.notEqual(second.status, 0);
      assert.match(second.stderr, /needs the database closed, and `segflow serve` \(pid \d+/);
    } finally {
      serve.child.kill('SIGTERM');
      assert.equal(await serve.exited, 0, serve.stderr());
    }
    assert.equal(existsSync(join(here, 'segflow.clickhouse.serve.json')), false, 'withdrawn at shutdown');
  });

  test('an unknown engine is a usage error', async () => {
    const r = await segflowHere(['--engine', 'postgres', 'sql', 'SELECT 1', '--json'], dir);
    assert.notEqual(r.status, 0);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'USAGE');
  });
});
