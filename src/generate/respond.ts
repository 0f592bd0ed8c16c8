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

export interface ResponseModel {
  uplift: number;
  value: number;
  /** Purchases fall within this many days after the trigger (uniformly, by hash). */
  withinDays: number;
  seed: string;
}

/**
 * How a simulated customer responds to being served a play at `servedAt`: a purchase of `value` caused by it (a
 * Segment track message), or null. A pure function of the seed and the person: the same person always answers the
 * same way, whichever channel reached them (a webhook below, or an in-app offer decide() served).
 */
export function simulatedResponse(
  o: ResponseModel,
  served: { person: string; at: Date; play: string; id: string },
): Record<string, unknown> | null {
  const unit = (text: string) => fnv1a32(text) / 2 ** 32;
  if (unit(`${o.seed}:buys:${served.person}`) >= o.uplift) return null;
  const delay = (0.05 + 0.9 * unit(`${o.seed}:when:${served.person}`)) * o.withinDays * 86_400_000;
  return {
    type: 'track',
    event: 'Order Completed',
    userId: served.person,
    properties: { revenue: o.value, order_id: `resp-${served.id}`, caused_by: served.play },
    timestamp: new Date(served.at.getTime() + delay).toISOString(),
    messageId: `resp-${served.id}`,
  };
}

export async function startResponder(o: ResponseModel): Promise<Responder> {
  const seen = new Set<string>();
  const purchases: Record<string, unknown>[] = [];
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
          const bought = simulatedResponse(o, {
            person: msg.person.id,
            at: new Date(msg.occurred_at),
            play: msg.play,
            id,
          });
          if (bought) purchases.push(bought);
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
