import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { Analytics } from '@segment/analytics-node';
import { openWarehouse } from '../../src/engine/open.js';
import { SECRET, startReceiver } from '../activate/helpers.js';
import { segflow } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { type ServeProcess, spawnServe, storedEvents } from './helpers.js';

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

async function streaming(url: string): Promise<void> {
  for (;;) {
    const h = (await (await fetch(`${url}/healthz`)).json()) as { stream: { evaluations: number } };
    if (h.stream.evaluations > 0) return;
    await sleep(50);
  }
}

/**
 * kill -9 during streaming under load: `segflow serve` (streaming on, its default) runs as a child process, a real SDK
 * sends one order per person, and every order makes its person enter a segment whose play calls a real webhook
 * receiver on 127.0.0.1 that dedupes by webhook-id. The server is killed with SIGKILL while events, evaluations and
 * sends are in flight, and restarted on the same port. Afterwards: every acknowledged event is stored, every person
 * got their play (no trigger missed across the restart), and no person got two different deliveries of it (a
 * replayed send carries the same webhook-id, which the receiver drops).
 */
test('SIGKILL during streaming: no acknowledged event lost, no trigger missed, nothing delivered twice', async () => {
  const dir = tempDir('segflow-stream-crash-');
  const receiver = await startReceiver();
  mkdirSync(join(dir, 'segments'));
  writeFileSync(
    join(dir, 'segments', 'buyers.yaml'),
    'name: buyers\nwhere: { performed: { event: Order Completed, within: 7d } }\n',
  );
  writeFileSync(
    join(dir, 'playbook.yaml'),
    `consent: { default: allow }
destinations:
  hook: { type: webhook, url: "${receiver.url}", secret: "${SECRET}" }
plays:
  - { name: thanks, segment: buyers, offer: a note, channel: webhook, destination: hook }
`,
  );
  const db = join(dir, 'stream-crash.duckdb');
  const created = segflow(['--db', db, 'keys', 'create', '--role', 'write', '--json']);
  assert.equal(created.status, 0, created.stderr);
  const writeKey = (JSON.parse(created.stdout) as { key: string }).key;

  const port = await freePort();
  let serve: ServeProcess = await spawnServe(db, ['--port', String(port)], { cwd: dir });
  // The first evaluation starts the play: people entering from then on are its triggers.
  await streaming(serve.url);
  const acked = new Set<string>();
  const ackedBeforeKill = new Set<string>();
  let killed = false;
  const analytics = new Analytics({
    writeKey,
    host: serve.url,
    flushAt: 25,
    flushInterval: 20,
    maxRetries: 40,
    httpRequestTimeout: 20_000,
  });
  analytics.on('http_response', (r) => {
    if (r.status !== 200) return;
    const body = JSON.parse(String(r.body)) as { batch: { messageId: string }[] };
    for (const m of body.batch) {
      acked.add(m.messageId);
      if (!killed) ackedBeforeKill.add(m.messageId);
    }
  });
  const errors: unknown[] = [];
  analytics.on('error', (e) => errors.push(e));

  const people = 1_200;
  let sent = 0;
  const produce = async (until: number) => {
    for (; sent < until; sent++) {
      analytics.track({
        userId: `buyer-${sent}`,
        event: 'Order Completed',
        properties: { revenue: 10 },
        messageId: `order-${sent}`,
      });
      if (sent % 25 === 0) await sleep(5);
    }
  };

  const producing = produce(people / 2);
  // Kill once plays are going out, so evaluations and sends are in flight too.
  while (acked.size < 300 || receiver.ids.size < 50) await sleep(2);
  killed = true;
  serve.child.kill('SIGKILL');
  await serve.exited;
  await producing;
  const deliveredBeforeKill = receiver.ids.size;

  serve = await spawnServe(db, ['--port', String(port)], { cwd: dir });
  await produce(people);
  await analytics.closeAndFlush({ timeout: 100_000 });
  assert.deepEqual(errors, [], 'the SDK gave up on nothing');
  // Wait (bounded) until every person's play has gone out.
  const deadline = Date.now() + 120_000;
  while (receiver.ids.size < people && Date.now() < deadline) await sleep(100);
  serve.child.kill('SIGTERM');
  assert.equal(await serve.exited, 0, serve.stderr());
  await receiver.close();

  const byPerson = new Map<string, Set<string>>();
  for (const r of receiver.requests) {
    const person = (JSON.parse(r.body) as { person: { id: string } }).person.id;
    const ids = byPerson.get(person) ?? new Set<string>();
    ids.add(String(r.headers['webhook-id']));
    byPerson.set(person, ids);
  }
  assert.ok(deliveredBeforeKill >= 50 && deliveredBeforeKill < people, 'the kill landed mid-stream');
  for (let i = 0; i < people; i++) {
    const ids = byPerson.get(`buyer-${i}`);
    assert.ok(ids, `buyer-${i} got their play`);
    assert.equal(ids.size, 1, `buyer-${i} got one delivery (replays carry the same webhook-id)`);
  }

  const wh = await openWarehouse({ path: db, readOnly: true });
  try {
    const stored = await storedEvents(wh); // throws if any messageId is stored twice
    for (const id of ackedBeforeKill)
      assert.ok(stored.has(id), `${id} was acknowledged before the kill and is stored`);
    assert.equal(stored.size, people);
    const [d] = await wh.query<{ n: number }>(
      "SELECT count(*) AS n FROM deliveries WHERE play = 'thanks' AND status = 'sent'",
    );
    assert.equal(Number(d!.n), people);
  } finally {
    await wh.close();
  }
});
