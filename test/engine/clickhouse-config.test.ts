import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { resolveClickHouseConfig } from '../../src/engine/clickhouse/clickhouse-config.js';
import { openWarehouse } from '../../src/engine/open.js';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { SegflowError } from '../../src/errors.js';
import {
  type ClickHouseHttpEndpoint,
  startClickHouseHttpEndpoint,
} from '../helpers/clickhouse-http-endpoint.js';

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const failsWith = (code: string, message: RegExp, hint: RegExp) => (e: unknown) => {
  assert.ok(e instanceof SegflowError, String(e));
  assert.equal(e.code, code);
  assert.match(e.message, message);
  assert.match(e.hint ?? '', hint);
  return true;
};

describe('ClickHouse configuration and outages, through @clickhouse/client', () => {
  let endpoint: ClickHouseHttpEndpoint;
  before(async () => {
    endpoint = await startClickHouseHttpEndpoint({ password: 'right', databases: ['segflow', 'other'] });
  });
  after(async () => {
    await endpoint.close();
  });
  const open = (settings: { url?: string; database?: string; password?: string }) =>
    openWarehouse({
      clickhouse: { url: endpoint.url, database: 'segflow', password: 'right', ...settings },
    });

  test('settings come from the file, then the environment, then the flag', () => {
    const env = { SEGFLOW_CLICKHOUSE_URL: 'http://env:8123', SEGFLOW_CLICKHOUSE_PASSWORD: 'p' };
    assert.deepEqual(resolveClickHouseConfig({ url: 'http://file:8123', database: 'a' }, env, {}), {
      url: 'http://env:8123',
      database: 'a',
      password: 'p',
    });
    assert.equal(resolveClickHouseConfig({}, env, { url: 'http://flag:8123' }).url, 'http://flag:8123');
    assert.equal(resolveClickHouseConfig(undefined, {}, {}).database, 'segflow');
    assert.throws(() => resolveClickHouseConfig({ url: 'not a url' }, {}, {}), /clickhouse\.url/);
  });

  test('a wrong password names the settings to fix', async () => {
    await assert.rejects(
      open({ password: 'wrong' }),
      failsWith('CLICKHOUSE_CONFIG', /refused the user name or password/, /clickhouse\.password/),
    );
  });

  test('a database that does not exist names clickhouse.database', async () => {
    await assert.rejects(
      open({ database: 'nosuch' }),
      failsWith('CLICKHOUSE_CONFIG', /does not exist/, /clickhouse\.database/),
    );
  });

  test('a URL where no server answers is retryable and names clickhouse.url', async () => {
    await assert.rejects(
      open({ url: `http://127.0.0.1:${await closedPort()}` }),
      failsWith('CLICKHOUSE_UNAVAILABLE', /cannot be reached/, /clickhouse\.url.*retried/),
    );
  });

  test('a database written by a newer segflow is refused with the fix', async () => {
    const wh = await open({});
    await wh.run(`INSERT INTO segflow_meta (key, value) VALUES ('schema_version', '999')`);
    await wh.close();
    await assert.rejects(open({}), failsWith('DB_SCHEMA_TOO_NEW', /newer segflow/, /upgrade segflow/));
  });

  test('a server that goes away mid-run gives retryable errors, and the same warehouse works when it is back', async () => {
    const wh: Warehouse = await open({ database: 'other' });
    try {
      await wh.run(
        `INSERT INTO api_keys (id, role, prefix, key_hash, created_at) VALUES ('k1', 'admin', 'p', 'h', now64(6, 'UTC'))`,
      );
      await endpoint.stop();
      await assert.rejects(
        wh.query('SELECT id FROM api_keys'),
        failsWith('CLICKHOUSE_UNAVAILABLE', /cannot be reached/, /retried/),
      );
      await endpoint.start();
      assert.deepEqual(await wh.query('SELECT id FROM api_keys'), [{ id: 'k1' }]);
    } finally {
      await wh.close();
    }
  });
});
