import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { Analytics } from '@segment/analytics-node';
import { segflow } from '../helpers/cli.js';
import { ENGINES } from '../helpers/engines.js';
import { tempDir } from '../helpers/temp.js';
import { type ServeProcess, servedDatabase, spawnServe, storedEvents } from './helpers.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * kill -9 under load: `segflow serve` runs as a child process, a real SDK drives events at it, the server is killed
 * with SIGKILL mid-stream and restarted on the same port. Every event acknowledged with 200 before the kill is stored,
 * and after the SDK retries what was not acknowledged, every event is stored exactly once. On each engine: the
 * collector acknowledges after its intake log's fsync and the loader inserts behind, so on ClickHouse (no
 * transactions) a kill can also land between a load's insert and the intake log's record of it; the replay must then
 * find those events stored and add none twice.
 */
for (const engine of ENGINES) {
  test(`${engine.name}: SIGKILL mid-stream loses no acknowledged event; retries land the rest exactly once`, async () => {
    const dir = tempDir('segflow-crash-');
    const database = servedDatabase(engine, dir);
    const cli = { cwd: dir, env: database.env };
    const created = segflow(['keys', 'create', '--role', 'write', '--json'], cli);
    assert.equal(created.status, 0, created.stderr);
    const writeKey = (JSON.parse(created.stdout) as { key: string }).key;

    const port = await freePort();
    // --db '' leaves the database to the environment (SEGFLOW_DB, or SEGFLOW_ENGINE's folder).
    let serve: ServeProcess = await spawnServe('', ['--port', String(port)], cli);
    const acked = new Set<string>();
    const ackedBeforeKill = new Set<string>();
    let killed = false;
    const analytics = new Analytics({
      writeKey,
      host: serve.url,
      flushAt: 100,
      flushInterval: 20,
      maxRetries: 40,
      httpRequestTimeout: 20_000,
    });
    let requests = 0;
    let responses = 0;
    analytics.on('http_request', () => {
      requests++;
    });
    analytics.on('http_response', (r) => {
      responses++;
      if (r.status !== 200) return;
      const body = JSON.parse(String(r.body)) as { batch: { messageId: string }[] };
      for (const m of body.batch) {
        acked.add(m.messageId);
        if (!killed) ackedBeforeKill.add(m.messageId);
      }
    });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));

    // chdb loads each batch far more slowly than DuckDB, so its run is smaller (CI time).
    const total = engine.name === 'duckdb' ? 12_000 : 4_000;
    const beforeKill = total / 8;
    let sent = 0;
    const produce = async (until: number) => {
      for (; sent < until; sent++) {
        analytics.track({
          userId: `user-${sent % 300}`,
          event: 'Load',
          properties: { n: sent },
          messageId: `crash-${sent}`,
        });
        if (sent % 200 === 0) await sleep(2);
      }
    };

    // Load until a good share is acknowledged, then kill -9 while batches are still in flight.
    const producing = produce(total / 2);
    while (acked.size < beforeKill) await sleep(2);
    // Wait for a moment with batches in flight, so the kill lands mid-request.
    while (requests - responses < 2) await sleep(1);
    killed = true;
    serve.child.kill('SIGKILL');
    const inFlightAtKill = requests - responses;
    await serve.exited;
    await producing;
    assert.ok(ackedBeforeKill.size >= beforeKill);
    assert.ok(inFlightAtKill >= 2);
    // What was acknowledged waited in the intake log (the default), not in a warehouse commit.
    assert.ok(existsSync(database.intakeLog), `serve keeps its intake log at ${database.intakeLog}`);

    // The SDK keeps what failed and retries it; the restarted server on the same port takes the retries.
    serve = await spawnServe('', ['--port', String(port)], cli);
    await produce(total);
    await analytics.closeAndFlush({ timeout: 100_000 });
    assert.deepEqual(errors, [], 'the SDK gave up on nothing');
    serve.child.kill('SIGTERM');
    assert.equal(await serve.exited, 0, serve.stderr());

    const wh = await database.open();
    try {
      const stored = await storedEvents(wh); // throws if any messageId is stored twice
      for (const id of ackedBeforeKill)
        assert.ok(stored.has(id), `${id} was acknowledged before the kill and is stored`);
      for (let i = 0; i < total; i++) assert.ok(stored.has(`crash-${i}`), `crash-${i} stored after retries`);
      assert.equal(stored.size, total);
      const [c] = await wh.query<{ n: number; d: number }>(
        'SELECT count(*) AS n, count(DISTINCT message_id) AS d FROM events',
      );
      assert.deepEqual(c, { n: total, d: total });
      // Every stored event has its person: the identity graph is written before the events of a load, so a load cut
      // short and replayed leaves no event without one.
      const [orphans] = await wh.query<{ n: number }>(
        `SELECT count(*) AS n FROM events e LEFT JOIN identities i ON i.identifier = e.user_id
         WHERE e.person_id IS NULL OR i.person_id IS NULL`,
      );
      assert.equal(orphans!.n, 0);
    } finally {
      await wh.close();
    }
  });
}
