import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { DeliveryMessage } from '../../../src/activate/destinations/destination.js';
import { httpSyncDestination } from '../../../src/activate/destinations/http-sync.js';

const message = (i: number): DeliveryMessage => ({
  idempotencyKey: `lead:p${i}:enter:${i}`,
  play: 'lead',
  segment: 'high-intent',
  personId: `p${i}`,
  trigger: 'enter',
  occurredAt: new Date('2026-05-04T12:00:00Z'),
  traits: { email: `p${i}@example.test` },
  content: { offer: 'ROI guide', variant: 'treatment' },
});

test('HTTP sync upserts in batches at a bounded rate, maps per-record results, retries 5xx and 429', async () => {
  const batches: { ids: string[]; at: number }[] = [];
  let mode: 'ok' | 'partial' | 'down' = 'ok';
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const records = (JSON.parse(body) as { records: { id: string }[] }).records;
      batches.push({ ids: records.map((r) => r.id), at: Date.now() });
      if (mode === 'down') {
        res.statusCode = 503;
        res.setHeader('retry-after', '7');
        return res.end();
      }
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          results: records.map((r, i) =>
            mode === 'partial' && i === 0
              ? { id: r.id, ok: false, error: 'invalid email' }
              : { id: r.id, ok: true },
          ),
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/upsert`;
  // A simulated clock that only moves when the destination sleeps: the rate limit is checked, not timed.
  const slept: number[] = [];
  let now = 1_000_000;
  const dest = httpSyncDestination(
    'crm',
    { type: 'http_sync', url, batchSize: 3, requestsPerSecond: 2, timeoutMs: 5000 },
    {
      now: () => now,
      sleep: async (ms) => {
        slept.push(ms);
        now += ms;
      },
    },
  );
  try {
    const results = await dest.send(Array.from({ length: 7 }, (_, i) => message(i)));
    assert.deepEqual(
      batches.map((b) => b.ids.length),
      [3, 3, 1],
    );
    assert.ok(results.every((r) => r.ok));
    assert.equal(slept.length, 2, 'the 2nd and 3rd requests waited for their slot');
    assert.ok(
      slept.every((ms) => ms > 300 && ms <= 500),
      `at most 2 requests per second: ${slept}`,
    );
    mode = 'partial';
    const partial = await dest.send([message(10), message(11)]);
    assert.deepEqual(partial[0], {
      ok: false,
      retryable: false,
      error: 'rejected by the receiver: invalid email',
    });
    assert.equal(partial[1]!.ok, true);
    mode = 'down';
    const [down] = await dest.send([message(12)]);
    assert.deepEqual(down, {
      ok: false,
      retryable: true,
      error: `HTTP 503 from 127.0.0.1:${(server.address() as AddressInfo).port}`,
      retryAfterMs: 7000,
    });
  } finally {
    await dest.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
