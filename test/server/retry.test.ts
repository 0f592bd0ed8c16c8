import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Analytics } from '@segment/analytics-node';
import { PostHog } from 'posthog-node';
import { startTestServer, storedEvents } from './helpers.js';

/**
 * Storage that fails for a while: the committer's beforeCommit hook throws inside the real transaction, after the
 * events were written, so the engine rolls them back exactly as it would on a storage error. The server answers 503;
 * the SDKs' own retries (same messageIds) then land every event exactly once.
 */
describe('retries after storage failures and a full queue', () => {
  test('503 while storage fails; @segment/analytics-node retries land every event exactly once', async () => {
    // Storage fails until the test has seen at least three failed commits and checked /healthz: the failure
    // window is set by what the test observed, not by timing.
    let failing = true;
    let failedCommits = 0;
    const server = await startTestServer({
      groupCommit: {
        beforeCommit: () => {
          if (failing) {
            failedCommits++;
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
        flushAt: 20,
        flushInterval: 20,
        maxRetries: 10,
      });
      analytics.on('http_response', (r) => statuses.push(r.status));
      const errors: unknown[] = [];
      analytics.on('error', (e) => errors.push(e));
      for (let i = 0; i < 200; i++) {
        analytics.track({
          userId: `u${i % 17}`,
          event: 'Retried',
          properties: { i },
          messageId: `retry-${i}`,
          timestamp: new Date(Date.UTC(2026, 2, 1) + i * 1000),
        });
      }
      // While storage fails, health says so. The hook counts a failure before its rollback has finished; commits run
      // one at a time, so once a second one has started the first has been recorded as failed.
      while (failedCommits < 2) await new Promise((r) => setTimeout(r, 5));
      const health = await fetch(`${server.url}/healthz`);
      assert.equal(health.status, 503);
      assert.equal(((await health.json()) as { code: string }).code, 'STORAGE_FAILED');
      while (failedCommits < 3) await new Promise((r) => setTimeout(r, 5));
      failing = false;

      await analytics.closeAndFlush({ timeout: 90_000 });
      assert.deepEqual(errors, []);
      assert.ok(failedCommits >= 3, `${failedCommits} commits failed`);
      assert.ok(statuses.includes(503), `saw 503s: ${statuses.join(',')}`);
      assert.equal(statuses.filter((s) => s === 200).length, 10, 'every batch of 20 finally acknowledged');

      const stored = await storedEvents(server.wh);
      for (let i = 0; i < 200; i++) {
        const e = stored.get(`retry-${i}`);
        assert.ok(e, `retry-${i} stored`);
        assert.deepEqual(JSON.parse(e.properties!), { i });
      }
      assert.equal(stored.size, 200);
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'healthy again after a good commit');
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, /segflow_commits_total\{result="error"\} 3/);
      assert.match(metrics, /segflow_events_accepted_total 200/);
    } finally {
      await server.close();
    }
  });

  test('posthog-node retries 503s until stored, exactly once', async () => {
    let failuresLeft = 2;
    const server = await startTestServer({
      groupCommit: {
        beforeCommit: () => {
          if (failuresLeft-- > 0) throw new Error('simulated storage failure');
        },
      },
    });
    try {
      const posthog = new PostHog(server.keys.write, {
        host: server.url,
        flushAt: 10,
        flushInterval: 20,
        fetchRetryCount: 5,
        fetchRetryDelay: 100,
      });
      // posthog-node keeps a caller's uuid only when it is a valid UUID.
      const uuid = (i: number) => `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`;
      for (let i = 0; i < 30; i++) {
        posthog.capture({ distinctId: `p${i % 4}`, event: 'ph_retry', properties: { i }, uuid: uuid(i) });
      }
      await posthog.shutdown(60_000);
      const stored = await storedEvents(server.wh);
      for (let i = 0; i < 30; i++) assert.ok(stored.has(uuid(i)), uuid(i));
      assert.equal(stored.size, 30);
      assert.ok(failuresLeft < 0, 'the failures happened');
    } finally {
      await server.close();
    }
  });

  test('429 with Retry-After when the write queue is full; the SDK waits and every event lands once', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const server = await startTestServer({
      groupCommit: { maxQueuedEvents: 10, maxEvents: 10, beforeCommit: () => gate },
    });
    try {
      // Plain HTTP first: the first request's commit waits on the gate, the next fills the queue, the third is refused.
      const send = (i: number) =>
        fetch(`${server.url}/v1/batch`, {
          method: 'POST',
          headers: { authorization: `Bearer ${server.keys.write}` },
          body: JSON.stringify({
            batch: Array.from({ length: 10 }, (_, j) => ({
              type: 'track',
              event: 'Queued',
              userId: 'q',
              messageId: `q-${i}-${j}`,
            })),
          }),
        });
      const first = send(0);
      while (server.committer.depth().inFlightEvents === 0) await new Promise((r) => setTimeout(r, 5));
      const second = send(1);
      while (server.committer.depth().events === 0) await new Promise((r) => setTimeout(r, 5));
      const refused = await send(2);
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.equal(((await refused.json()) as { code: string }).code, 'QUEUE_FULL');

      const statuses: number[] = [];
      const analytics = new Analytics({
        writeKey: server.keys.write,
        host: server.url,
        flushAt: 10,
        flushInterval: 10,
      });
      analytics.on('http_response', (r) => statuses.push(r.status));
      for (let i = 0; i < 30; i++) analytics.track({ userId: 'sdk', event: 'Queued', messageId: `sdk-${i}` });
      while (!statuses.includes(429)) await new Promise((r) => setTimeout(r, 5));
      release();
      assert.equal((await first).status, 200);
      assert.equal((await second).status, 200);
      await analytics.closeAndFlush({ timeout: 60_000 });
      const stored = await storedEvents(server.wh);
      for (let i = 0; i < 30; i++) assert.ok(stored.has(`sdk-${i}`), `sdk-${i}`);
      assert.equal(stored.size, 50);
    } finally {
      release();
      await server.close();
    }
  });
});
