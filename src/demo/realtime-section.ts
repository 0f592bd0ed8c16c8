import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createApiKey } from '../govern/api-keys.js';
import { buildServer } from '../server/app.js';
import { type DemoEngine, demoEngine } from './demo-engine.js';

const say = (line = '') => process.stdout.write(`${line}\n`);
const WAIT_MS = 60_000;

/**
 * Real time: `segflow serve` with streaming evaluation (its default) on a database of its own, a webhook receiver on
 * loopback, and two shoppers sent through `/v1/batch`. Ann's checkout began 55 s ago and she does not pay: her
 * abandonment's 1-minute wait ends 5 s from now, and the recovery play's webhook arrives then — no new event, no cycle.
 * Bob pays and gets nothing. Then the stream's state as `segflow stream status` prints it.
 *
 * @example
 * const { due, webhooks } = await realtimeSection('/tmp/segflow-demo'); // about 6 s; webhooks: ann's, after due
 */
export async function realtimeSection(
  dir: string,
  engine: DemoEngine = demoEngine('duckdb', dir),
): Promise<{ due: Date; webhooks: { person: string; at: Date }[] }> {
  const root = join(dir, 'realtime');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'segments'), { recursive: true });
  const arrivals: { at: number; person: string }[] = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { person: { id: string } };
      arrivals.push({ at: Date.now(), person: body.person.id });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  writeFileSync(
    join(root, 'segments', 'abandoners.yaml'),
    'name: abandoners\nwhere:\n  sequence:\n    steps: [{ event: Checkout Started }]\n    thenNot: { event: Order Completed, within: 1m }\n',
  );
  const secret = `whsec_${Buffer.from('the demo secret of thirty-two bytes').toString('base64')}`;
  writeFileSync(
    join(root, 'playbook.yaml'),
    `consent: { default: allow }
destinations:
  shop: { type: webhook, url: "${hook}", secret: "${secret}" }
plays:
  - { name: recover-cart, segment: abandoners, offer: 10% off, channel: webhook, destination: shop }
`,
  );
  const wh = await engine.open(join('realtime', 'realtime'));
  const write = await createApiKey(wh, 'write', { name: 'demo shop' });
  const server = await buildServer({
    warehouse: wh,
    segmentsDir: join(root, 'segments'),
    playbook: join(root, 'playbook.yaml'),
    stream: {},
  });
  const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
  let due = 0;
  try {
    await server.stream!.settle(); // the play starts from now
    const now = Date.now();
    const started = now - WAIT_MS + 5_000;
    due = started + WAIT_MS;
    const iso = (ms: number) => new Date(ms).toISOString();
    const checkout = (user: string) => ({
      type: 'track',
      event: 'Checkout Started',
      userId: user,
      messageId: `demo-checkout-${user}-${now}`,
      timestamp: iso(started),
    });
    const res = await fetch(`${url}/v1/batch`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${write.key}:`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        batch: [
          checkout('ann'),
          checkout('bob'),
          {
            type: 'track',
            event: 'Order Completed',
            userId: 'bob',
            messageId: `demo-order-bob-${now}`,
            timestamp: iso(now),
          },
        ],
        sentAt: iso(now),
      }),
    });
    await res.arrayBuffer();
    say('\nReal time: segflow serve streams memberships and plays as events arrive');
    say(
      `   ann and bob began checking out 55 s ago; bob paid now, ann did not. The abandonment waits 1 minute for a payment.`,
    );
    const deadline = due + 10_000;
    while (!arrivals.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500)); // anything else (bob) would have come with it
    const ann = arrivals.find((a) => a.person === 'ann');
    say(
      ann
        ? `   ann's wait ended at ${iso(due).slice(11, 23)}; the recovery webhook reached the shop at ${iso(ann.at).slice(11, 23)}, ${((ann.at - due) / 1000).toFixed(2)} s after — no new event, no cycle`
        : `   ann's recovery webhook did not arrive within 10 s of her wait's end`,
    );
    say(
      `   webhooks to anyone else: ${arrivals.filter((a) => a.person !== 'ann').length} (bob paid: no recovery)`,
    );
    const s = server.stream!.status();
    say(
      `   segflow stream status: mode ${s.mode}, ${s.evaluations} evaluations (the last: ${s.lastEvaluation?.reason} as of ${s.lastEvaluation?.asOf.toISOString().slice(11, 23)}, ${s.lastEvaluation?.seconds.toFixed(3)} s), ${s.dueEdges} edge${s.dueEdges === 1 ? '' : 's'} queued`,
    );
  } finally {
    await server.app.close();
    await wh.close();
    receiver.close();
  }
  return { due: new Date(due), webhooks: arrivals.map((a) => ({ person: a.person, at: new Date(a.at) })) };
}
