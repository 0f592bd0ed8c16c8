import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Warehouse } from '../../src/engine/warehouse.js';
import { ingestMessages } from '../../src/instrument/ingest-messages.js';
import { SegmentDefinition } from '../../src/segment/definition.js';
import { refreshSegments } from '../../src/segment/memberships.js';

export const T0 = Date.parse('2026-05-04T12:00:00Z'); // a Monday, 12:00 UTC
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const at = (ms: number) => new Date(T0 + ms);

/** A webhook receiver on 127.0.0.1 that keeps what arrives and dedupes by webhook-id, as the spec asks receivers to. */
export interface Receiver {
  url: string;
  requests: { headers: IncomingHttpHeaders; body: string; at: Date | null }[];
  /** The simulated time stamped on requests as they arrive (tests set it before each run). */
  now: Date | null;
  /** Distinct webhook-ids received. */
  ids: Set<string>;
  /** The status the next requests get (200 by default); set 503 to play "down". */
  status: number;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const r: Omit<Receiver, 'url' | 'close'> = { requests: [], ids: new Set(), status: 200, now: null };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (r.status >= 200 && r.status < 300) {
        r.requests.push({ headers: req.headers, body, at: r.now });
        r.ids.add(String(req.headers['webhook-id']));
      }
      res.statusCode = r.status;
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(r, {
    url: `http://127.0.0.1:${port}/hook`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }) as Receiver;
}

let k = 0;
export function track(userId: string, event: string, when: Date, extra: object = {}) {
  return { type: 'track', event, userId, timestamp: when.toISOString(), messageId: `t${++k}`, ...extra };
}

export function identify(userId: string, when: Date, traits: object = {}, consent?: Record<string, boolean>) {
  return {
    type: 'identify',
    userId,
    traits,
    timestamp: when.toISOString(),
    messageId: `i${++k}`,
    ...(consent ? { context: { consent: { categoryPreferences: consent } } } : {}),
  };
}

/** "Bought in the last 7 days": people enter when they buy and leave a week after their last order. */
export const BUYERS = SegmentDefinition.parse({
  name: 'recent-buyers',
  where: { performed: { event: 'Order Completed', within: '7d' } },
});

export async function events(wh: Warehouse, messages: object[]): Promise<void> {
  await ingestMessages(wh, messages, { source: 'test' });
}

export async function refresh(wh: Warehouse, when: Date, defs = [BUYERS]): Promise<void> {
  await refreshSegments(
    wh,
    defs.map((definition) => ({ definition })),
    { asOf: when },
  );
}

export const SECRET = `whsec_${Buffer.from('a test secret of thirty-two bytes!').toString('base64')}`;
