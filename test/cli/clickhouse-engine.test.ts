import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openWarehouse } from '../../src/engine/open.js';
import { writeGeneratedFiles } from '../../src/generate/index.js';
import { segflowHere } from '../helpers/cli-in-process.js';
import {
  type ClickHouseHttpEndpoint,
  startClickHouseHttpEndpoint,
} from '../helpers/clickhouse-http-endpoint.js';
import { tempDir } from '../helpers/temp.js';

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

  // Without the refusal serve would start and never return: the timeout turns that into a failure.
  test('serve and privacy erase, file-only so far, refuse ClickHouse instead of opening a DuckDB file', {
    timeout: 60_000,
  }, async () => {
    for (const args of [
      ['serve', '--port', '0'],
      ['privacy', 'erase'],
    ]) {
      const r = await segflowHere(['--engine', 'clickhouse', ...args], dir);
      assert.notEqual(r.status, 0, args.join(' '));
      assert.match(r.stderr, /works on a DuckDB database file and does not run on ClickHouse yet/);
      assert.match(r.stderr, /without --engine clickhouse/);
    }
  });

  test('an unknown engine is a usage error', async () => {
    const r = await segflowHere(['--engine', 'postgres', 'sql', 'SELECT 1', '--json'], dir);
    assert.notEqual(r.status, 0);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'USAGE');
  });
});
