import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Receiver, SECRET, startReceiver } from '../activate/helpers.js';
import { basicAuth, startTestServer, type TestServer } from './helpers.js';

/**
 * Streaming in a real server on 127.0.0.1: events posted to the collector reach a real webhook receiver through the
 * intake log, its loader, the stream's evaluation and the outbox, with no cycle and no refresh call; a wait ending
 * with no event fires on the server's own timer. Deadlines below only bound how long the test waits.
 */
const SEGMENTS = {
  'buyers.yaml': 'name: buyers\nwhere: { performed: { event: Order Completed, within: 7d } }\n',
  'abandoners.yaml':
    'name: abandoners\nwhere:\n  sequence:\n    steps: [{ event: Checkout Started }]\n    thenNot: { event: Order Completed, within: 1m }\n',
};

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('streaming in a real server', () => {
  let dir: string;
  let receiver: Receiver;
  let server: TestServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'segflow-stream-'));
    receiver = await startReceiver();
    const segmentsDir = join(dir, 'segments');
    mkdirSync(segmentsDir);
    for (const [name, text] of Object.entries(SEGMENTS)) writeFileSync(join(segmentsDir, name), text);
    const playbook = join(dir, 'playbook.yaml');
    writeFileSync(
      playbook,
      `consent: { default: allow }
destinations:
  hook: { type: webhook, url: "${receiver.url}", secret: "${SECRET}" }
plays:
  - { name: thanks, segment: buyers, offer: a note, channel: webhook, destination: hook }
  - { name: recover, segment: abandoners, offer: 10% off, channel: webhook, destination: hook }
`,
    );
    server = await startTestServer({ dbPath: join(dir, 'stream.duckdb'), segmentsDir, playbook, stream: {} });
    // The first evaluation registers the plays: people entering afterwards are their triggers.
    await until('the first evaluation', () => (server.stream!.status().evaluations > 0 ? true : undefined));
  });
  after(async () => {
    await server.close();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (batch: object[]) =>
    fetch(`${server.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: basicAuth(server.keys.write), 'content-type': 'application/json' },
      body: JSON.stringify({ batch }),
    });
  const playsFor = (person: string) =>
    receiver.requests
      .map((r) => JSON.parse(r.body) as { play: string; person: { id: string } })
      .filter((b) => b.person.id === person)
      .map((b) => b.play);

  test('an acknowledged event reaches its play with no cycle', async () => {
    const res = await post([
      {
        type: 'track',
        event: 'Order Completed',
        userId: 'ann',
        messageId: 'o1',
        timestamp: new Date().toISOString(),
      },
    ]);
    assert.equal(res.status, 200);
    assert.deepEqual(
      await until('the delivery', () => (playsFor('ann').length ? playsFor('ann') : undefined)),
      ['thanks'],
    );
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as { stream: { mode: string } };
    assert.equal(health.stream.mode, 'streaming');
    // The load's notification may reach the stream after an evaluation already covered its events (the stream also
    // polls the warehouse): its latency is then measured by the next evaluation.
    await until('the latency measurement', async () => {
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      return Number(/segflow_stream_latency_seconds_count (\d+)/.exec(metrics)?.[1]) >= 1 ? true : undefined;
    });
  });

  test("a wait ending with no event fires on the server's own timer", async () => {
    // Started 57 s ago: the 1-minute wait ends about 3 s from now, and nothing else will happen.
    const started = new Date(Date.now() - 57_000);
    await post([
      {
        type: 'track',
        event: 'Checkout Started',
        userId: 'bob',
        messageId: 'c1',
        timestamp: started.toISOString(),
      },
    ]);
    await until('the load', () => (server.stream!.status().nextDue ? true : undefined));
    assert.deepEqual(playsFor('bob'), [], 'nothing before the wait ends');
    assert.deepEqual(
      await until('the recovery', () => (playsFor('bob').length ? playsFor('bob') : undefined)),
      ['recover'],
    );
    const [row] = await server.wh.query<{ occurred_at: Date }>(
      "SELECT occurred_at FROM deliveries WHERE play = 'recover' AND person_id = 'bob'",
    );
    assert.equal(row!.occurred_at.getTime(), started.getTime() + 60_000, 'decided as of the end of the wait');
    const status = (await (
      await fetch(`${server.url}/api/v1/stream`, { headers: { authorization: basicAuth(server.keys.read) } })
    ).json()) as { mode: string; evaluations: number };
    assert.equal(status.mode, 'streaming');
    // The webhook goes out before its evaluation ends (and is counted).
    await until('the edge evaluation in /metrics', async () => {
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      return /segflow_stream_evaluations_total\{reason="edge"\} [1-9]/.test(metrics) ? true : undefined;
    });
  });
});
