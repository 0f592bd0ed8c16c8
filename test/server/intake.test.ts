import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Analytics } from '@segment/analytics-node';
import { openWarehouse } from '../../src/engine/open.js';
import { segflow } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { basicAuth, spawnServe, startTestServer, storedEvents } from './helpers.js';

/**
 * `segflow serve` on a database file acknowledges plainly valid batches once they are fsync'd to the intake log and
 * loads the log into the warehouse behind the acknowledgements. These tests hold it to its promises: an acknowledged
 * event survives failed loads and restarts and lands exactly once; admin reads see every acknowledged event; a batch
 * with anything the SQL checks must judge still gets its rejections counted in the answer.
 */
const track = (i: number, prefix = 'intake') => ({
  type: 'track',
  userId: `u${i % 7}`,
  event: 'Logged',
  properties: { i },
  messageId: `${prefix}-${i}`,
  timestamp: new Date(Date.UTC(2026, 3, 1) + i * 1000).toISOString(),
});

async function postBatch(url: string, key: string, batch: unknown[]): Promise<Response> {
  return fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: { authorization: basicAuth(key), 'content-type': 'application/json' },
    body: JSON.stringify({ batch }),
  });
}

describe('intake log', () => {
  test('loads that fail do not touch acknowledgements; the events land exactly once when storage recovers', async () => {
    const dir = tempDir('segflow-intake-');
    let failing = true;
    let failedLoads = 0;
    const server = await startTestServer({
      dbPath: join(dir, 'intake.duckdb'),
      groupCommit: {
        beforeLoad: () => {
          if (failing) {
            failedLoads++;
            throw new Error('simulated storage failure: disk I/O error');
          }
        },
      },
    });
    try {
      const statuses: number[] = [];
      const analytics = new Analytics({
        writeKey: server.keys.write,
        host: server.url,
        flushAt: 25,
        flushInterval: 20,
      });
      analytics.on('http_response', (r) => statuses.push(r.status));
      for (let i = 0; i < 300; i++) {
        const e = track(i);
        analytics.track({ ...e, timestamp: new Date(e.timestamp) });
      }
      await analytics.closeAndFlush({ timeout: 30_000 });
      assert.deepEqual(
        statuses.filter((s) => s !== 200),
        [],
        'every batch acknowledged while loads fail',
      );
      while (failedLoads < 2) await new Promise((r) => setTimeout(r, 10));
      const health = await fetch(`${server.url}/healthz`);
      assert.equal(health.status, 503);
      const body = (await health.json()) as {
        code: string;
        message: string;
        queue: { backlogEvents: number };
      };
      assert.equal(body.code, 'STORAGE_FAILED');
      assert.match(body.message, /intake log/);
      assert.equal(body.queue.backlogEvents, 300);
      assert.equal((await storedEvents(server.wh)).size, 0, 'nothing loaded while storage fails');

      failing = false;
      await server.committer.settled();
      const stored = await storedEvents(server.wh);
      assert.equal(stored.size, 300);
      for (let i = 0; i < 300; i++)
        assert.deepEqual(JSON.parse(stored.get(`intake-${i}`)!.properties!), { i });
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, /segflow_events_accepted_total 300/);
      assert.match(metrics, /segflow_loads_total\{result="error"\} [1-9]/);
      assert.match(metrics, /segflow_intake_backlog_events 0/);
    } finally {
      await server.close();
    }
  });

  test('a restart loads what the last run acknowledged but never loaded, once; retries of it add nothing', async () => {
    const dir = tempDir('segflow-intake-');
    const dbPath = join(dir, 'restart.duckdb');
    const batch = Array.from({ length: 120 }, (_, i) => track(i, 'restart'));
    const first = await startTestServer({
      dbPath,
      groupCommit: {
        beforeLoad: () => {
          throw new Error('simulated storage failure');
        },
      },
    });
    for (let k = 0; k < 4; k++) {
      const res = await postBatch(first.url, first.keys.write, batch.slice(k * 30, k * 30 + 30));
      assert.equal(res.status, 200);
    }
    // Closing cannot load the backlog either: it stays in the log for the next start.
    await first.close();
    const between = await openWarehouse({ path: dbPath });
    assert.equal((await storedEvents(between)).size, 0);
    await between.close();
    assert.ok(readdirSync(`${dbPath}.intake`).some((f) => f.endsWith('.log')));

    const second = await startTestServer({ dbPath });
    try {
      const stored = await storedEvents(second.wh);
      assert.equal(stored.size, 120, 'every acknowledged event loaded at start');
      assert.equal(stored.get('restart-7')!.type, 'track');
      // An SDK retrying the same batch (it never saw the answer) changes nothing.
      assert.equal((await postBatch(second.url, second.keys.write, batch)).status, 200);
      await second.committer.settled();
      assert.equal((await storedEvents(second.wh)).size, 120);
    } finally {
      await second.close();
    }
    // And a third start finds nothing left to load.
    const third = await startTestServer({ dbPath });
    try {
      assert.equal((await storedEvents(third.wh)).size, 120);
      assert.equal(third.committer.depth().backlogEvents, 0);
    } finally {
      await third.close();
    }
  });

  test('admin reads see an acknowledged event at once; a batch with invalid messages still reports them', async () => {
    const dir = tempDir('segflow-intake-');
    const server = await startTestServer({ dbPath: join(dir, 'read.duckdb') });
    try {
      assert.equal((await postBatch(server.url, server.keys.write, [track(1, 'seen')])).status, 200);
      const person = await fetch(`${server.url}/api/v1/persons/u1`, {
        headers: { authorization: `Bearer ${server.keys.read}` },
      });
      assert.equal(person.status, 200);
      const body = (await person.json()) as { recentEvents: { messageId?: string; event?: string }[] };
      assert.equal(body.recentEvents.length, 1);
      assert.equal(body.recentEvents[0]!.event, 'Logged');

      const mixed = await postBatch(server.url, server.keys.write, [
        track(2, 'mixed'),
        { ...track(3, 'mixed'), timestamp: 'not a time' },
        { type: 'track', event: 'No one', messageId: 'mixed-anon' },
      ]);
      assert.equal(mixed.status, 200);
      const answer = (await mixed.json()) as { received: number; accepted: number; rejected: number };
      assert.deepEqual(
        { received: answer.received, accepted: answer.accepted, rejected: answer.rejected },
        { received: 3, accepted: 1, rejected: 2 },
      );
      await server.committer.settled();
      const stored = await storedEvents(server.wh);
      assert.ok(stored.has('mixed-2'));
      assert.ok(!stored.has('mixed-3'));
    } finally {
      await server.close();
    }
  });

  test('settled() waits for what was acknowledged before it, not for an empty log, while acknowledgements keep arriving', async () => {
    // Each load acknowledges one more batch while its transaction is open, as a steady stream of SDK batches does on a
    // busy server: the log is never empty when a load ends. Waiting for an empty log (what settled() did) returned only
    // once the stream stopped, so admin requests and `segflow backup` through the server hung for minutes.
    const STREAM = 20;
    const dir = tempDir('segflow-intake-');
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    let streamed = 0;
    let url = '';
    let key = '';
    const server = await startTestServer({
      dbPath: join(dir, 'settle.duckdb'),
      groupCommit: {
        beforeLoad: async () => {
          // No load ends before the test has called settled(), whatever the loader's timer does meanwhile.
          await gate;
          if (streamed >= STREAM) return;
          streamed++;
          const batch = [track(streamed, 'during')];
          assert.equal((await postBatch(url, key, batch)).status, 200);
        },
      },
    });
    url = server.url;
    key = server.keys.write;
    try {
      assert.equal((await postBatch(url, key, [track(0, 'before')])).status, 200);
      const settling = server.committer.settled();
      open();
      await settling;
      const streamedWhenSettled = streamed;
      const stored = await storedEvents(server.wh);
      assert.ok(stored.has('before-0'), 'acknowledged before settled() was called, loaded when it returns');
      assert.ok(
        streamedWhenSettled < STREAM,
        `settled() returned only after the stream stopped (${streamedWhenSettled} of ${STREAM} batches)`,
      );
      // Once the stream stops, settling again loads the rest, each event once.
      while (streamed < STREAM) await server.committer.settled();
      await server.committer.settled();
      const all = await storedEvents(server.wh);
      assert.equal(all.size, STREAM + 1);
      for (let i = 1; i <= STREAM; i++) assert.ok(all.has(`during-${i}`), `during-${i}`);
    } finally {
      await server.close();
    }
  });

  test('a plain segflow serve (no flag) answers 200 once the batch is in <database>.intake; SIGKILL right after loses nothing', async () => {
    const dir = tempDir('segflow-intake-');
    const db = join(dir, 'plain.duckdb');
    const created = segflow(['--db', db, 'keys', 'create', '--role', 'write', '--json']);
    assert.equal(created.status, 0, created.stderr);
    const key = (JSON.parse(created.stdout) as { key: string }).key;
    const batch = Array.from({ length: 20 }, (_, i) => track(i, 'plain'));
    let serve = await spawnServe(db);
    try {
      assert.equal((await postBatch(serve.url, key, batch)).status, 200);
      // The segment being written is never removed by the loader, so the frame is there whether or not it is loaded.
      const logDir = `${db}.intake`;
      const logged = readdirSync(logDir)
        .filter((f) => f.endsWith('.log'))
        .map((f) => readFileSync(join(logDir, f), 'utf8'))
        .join('');
      for (const m of batch) assert.ok(logged.includes(m.messageId), `${m.messageId} in the log at its 200`);
    } finally {
      serve.child.kill('SIGKILL');
      await serve.exited;
    }
    // The next start loads what the killed one acknowledged (if its loader had not) before it listens; that load is
    // committed, so it survives this process's SIGKILL too.
    serve = await spawnServe(db);
    serve.child.kill('SIGKILL');
    await serve.exited;
    const wh = await openWarehouse({ path: db, readOnly: true });
    try {
      const stored = await storedEvents(wh);
      assert.deepEqual(
        batch.filter((m) => !stored.has(m.messageId)).map((m) => m.messageId),
        [],
        'acknowledged before the kill, stored after the restart',
      );
    } finally {
      await wh.close();
    }
  });

  test('segflow serve keeps the log where --intake-log says, or none with --no-intake-log', async () => {
    const dir = tempDir('segflow-intake-');
    for (const [flag, logDir] of [
      [['--intake-log', join(dir, 'elsewhere')], join(dir, 'elsewhere')],
      [['--no-intake-log'], undefined],
    ] as const) {
      const db = join(dir, `${logDir ? 'custom' : 'none'}.duckdb`);
      const created = segflow(['--db', db, 'keys', 'create', '--role', 'write', '--json']);
      assert.equal(created.status, 0, created.stderr);
      const key = (JSON.parse(created.stdout) as { key: string }).key;
      const serve = await spawnServe(db, [...flag]);
      try {
        const res = await postBatch(serve.url, key, [track(1, 'flag'), track(2, 'flag')]);
        assert.equal(res.status, 200);
        if (logDir) assert.ok(readdirSync(logDir).some((f) => f.endsWith('.log')));
      } finally {
        serve.child.kill('SIGTERM');
        await serve.exited;
      }
      assert.equal(existsSync(`${db}.intake`), false, 'no log next to the database');
      const wh = await openWarehouse({ path: db });
      assert.equal((await storedEvents(wh)).size, 2);
      await wh.close();
    }
  });
});
