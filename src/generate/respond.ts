import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fnv1a32 } from '../shared/arm-assignment.js';

/**
 * Simulated customers who respond to a play: a webhook receiver on 127.0.0.1 that, for each message it receives,
 * decides (by a hash of the seed and the person, so the same run gives the same answer) whether the person buys
 * because of it — with probability `uplift` — and if so records a purchase of `value` at a time inside the
 * measurement window after the message's trigger. The purchases are handed back as Segment messages to ingest, so
 * the effect of the play is known exactly: `uplift × value` more revenue per treated person, on top of whatever
 * the people would have bought anyway. Duplicate deliveries (same webhook-id) are ignored, as a real receiver
 * would.
 */
export interface Responder {
  url: string;
  /** Purchases caused by the play so far (Segment track messages). */
  purchases: Record<string, unknown>[];
  /** Messages received (distinct webhook-ids). */
  received: number;
  close(): Promise<void>;
}

export async function startResponder(o: {
  uplift: number;
  value: number;
  /** Purchases fall within this many days after the trigger (uniformly, by hash). */
  withinDays: number;
  seed: string;
}): Promise<Responder> {
  const seen = new Set<string>();
  const purchases: Record<string, unknown>[] = [];
  const unit = (text: string) => fnv1a32(text) / 2 ** 32;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = String(req.headers['webhook-id'] ?? '');
      try {
        const msg = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          person: { id: string };
          occurred_at: string;
          play: string;
        };
        if (id && !seen.has(id)) {
          seen.add(id);
          const person = msg.person.id;
          if (unit(`${o.seed}:buys:${person}`) < o.uplift) {
            const delay = (0.05 + 0.9 * unit(`${o.seed}:when:${person}`)) * o.withinDays * 86_400_000;
            purchases.push({
              type: 'track',
              event: 'Order Completed',
              userId: person,
              properties: { revenue: o.value, order_id: `resp-${id}`, caused_by: msg.play },
              timestamp: new Date(Date.parse(msg.occurred_at) + delay).toISOString(),
              messageId: `resp-${id}`,
            });
          }
        }
        res.statusCode = 200;
      } catch {
        res.statusCode = 400;
      }
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/respond`,
    purchases,
    get received() {
      return seen.size;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
