import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openWarehouse } from '../../src/engine/open.js';
import { segflowAsync } from '../helpers/cli.js';
import {
  type ClickHouseHttpEndpoint,
  startClickHouseHttpEndpoint,
} from '../helpers/clickhouse-http-endpoint.js';
import { ENGINES } from '../helpers/engines.js';
import { tempDir } from '../helpers/temp.js';
import { type ServeProcess, spawnServe } from './helpers.js';

/**
 * `segflow serve --clickhouse-url` while its ClickHouse goes away: the collector keeps acknowledging into its intake
 * log (the acknowledgement waits for the log's fsync, never for ClickHouse), the loader's failures are retryable
 * (CLICKHOUSE_UNAVAILABLE, reported by /healthz) and it loads the backlog when ClickHouse is back; and events
 * acknowledged during an outage by a server that is then killed are loaded by the next one. The ClickHouse is the
 * test endpoint (the HTTP interface over chdb, in this process), stopped and started on the same port; the server is
 * a child process talking to it through @clickhouse/client.
 */
describe('segflow serve on a ClickHouse server that goes away', {
  skip: !ENGINES.some((e) => e.name === 'clickhouse'),
}, () => {
  let endpoint: ClickHouseHttpEndpoint;
  let serve: ServeProcess | undefined;
  const dir = tempDir('segflow-outage-');
  before(async () => {
    endpoint = await startClickHouseHttpEndpoint({ password: 'pw' });
  });
  after(async () => {
    serve?.child.kill('SIGKILL');
    await endpoint.close();
  });

  const env = () => ({
    SEGFLOW_ENGINE: 'clickhouse',
    SEGFLOW_CLICKHOUSE_URL: endpoint.url,
    SEGFLOW_CLICKHOUSE_PASSWORD: 'pw',
  });
  /** The stored events' message ids, read through the same HTTP interface. */
  const storedIds = async (): Promise<string[]> => {
    const wh = await openWarehouse({
      clickhouse: { url: endpoint.url, database: 'segflow', password: 'pw' },
    });
    try {
      const rows = await wh.query<{ message_id: string }>(
        'SELECT message_id FROM events ORDER BY message_id',
      );
      return rows.map((r) => r.message_id);
    } finally {
      await wh.close();
    }
  };
  const waitForStored = async (count: number) => {
    for (let i = 0; i < 600; i++) {
      const ids = await storedIds();
      if (ids.length >= count) return ids;
      await sleep(100);
    }
    throw new Error(`fewer than ${count} events stored after a minute:\n${serve?.stderr()}`);
  };
  const ids = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => `outage-${String(from + i).padStart(3, '0')}`);

  test('acknowledged while ClickHouse is down, stored once when it is back, across a kill', async () => {
    const created = await segflowAsync(['keys', 'create', '--role', 'write', '--json'], {
      cwd: dir,
      env: env(),
    });
    assert.equal(created.status, 0, created.stderr);
    const writeKey = (JSON.parse(created.stdout) as { key: string }).key;
    serve = await spawnServe('', [], { cwd: dir, env: env() });
    const send = async (messageIds: string[]) => {
      const res = await fetch(`${serve!.url}/v1/batch`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          batch: messageIds.map((messageId, i) => ({
            type: 'track',
            event: 'Outage Test',
            userId: `u${i % 7}`,
            messageId,
            timestamp: '2026-03-01T10:00:00Z',
          })),
        }),
      });
      // Anything but 200 comes back with the answer and the server's log, to say why.
      return res.status === 200 ? 200 : `${res.status} ${await res.text()}\n${serve!.stderr()}`;
    };
    const health = async () => {
      const res = await fetch(`${serve!.url}/healthz`);
      return { status: res.status, body: (await res.json()) as { message?: string } };
    };

    // Up: acknowledged and loaded.
    assert.equal(await send(ids(0, 20)), 200);
    await waitForStored(20);

    // Down: still acknowledged (the intake log), the loader fails with a retryable error that /healthz reports.
    await endpoint.stop();
    assert.equal(await send(ids(20, 40)), 200);
    assert.equal(await send(ids(40, 60)), 200);
    let failing: { status: number; body: { message?: string } } | undefined;
    for (let i = 0; i < 100 && failing === undefined; i++) {
      const h = await health();
      if (h.status === 503) failing = h;
      else await sleep(100);
    }
    assert.ok(failing, 'the loader reported its failure');
    assert.match(failing.body.message ?? '', /cannot be reached/);

    // Back: the backlog is loaded, each event once.
    await endpoint.start();
    assert.deepEqual(await waitForStored(60), ids(0, 60));
    for (let i = 0; i < 100 && (await health()).status !== 200; i++) await sleep(100);
    assert.equal((await health()).status, 200);

    // Down again, events acknowledged, and the server killed before ClickHouse returns: only the intake log has
    // them. The next server replays the log once ClickHouse is back.
    await endpoint.stop();
    assert.equal(await send(ids(60, 80)), 200);
    serve.child.kill('SIGKILL');
    await serve.exited;
    await endpoint.start();
    serve = await spawnServe('', [], { cwd: dir, env: env() });
    assert.deepEqual(await waitForStored(80), ids(0, 80));
    // Resent after the restart (an SDK that never saw the answer): a no-op.
    assert.equal(await send(ids(60, 80)), 200);
    serve.child.kill('SIGTERM');
    assert.equal(await serve.exited, 0, serve.stderr());
    serve = undefined;
    assert.deepEqual(await storedIds(), ids(0, 80));
  });
});
