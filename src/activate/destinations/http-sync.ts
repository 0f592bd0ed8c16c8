import type { z } from 'zod';
import type {
  DeliveryMessage,
  DeliveryResult,
  Destination,
  HttpSyncDestinationConfig,
} from './destination.js';
import { messagePayload, retryAfterMs, retryableStatus } from './payload.js';

/**
 * Batched HTTP upserts for CRMs: POST {records: [...]} in batches of `batchSize`, at most `requestsPerSecond`
 * requests per second. A 2xx answer may say per record which failed (`{results: [{id, ok, error?}]}`); otherwise
 * the whole batch succeeded or failed together.
 */
export function httpSyncDestination(
  name: string,
  config: z.output<typeof HttpSyncDestinationConfig>,
  clock: { now: () => number; sleep: (ms: number) => Promise<void> } = {
    now: () => Date.now(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  },
): Destination {
  const interval = 1000 / config.requestsPerSecond;
  let nextSlot = 0;
  const sendBatch = async (batch: readonly DeliveryMessage[]): Promise<DeliveryResult[]> => {
    const wait = nextSlot - clock.now();
    if (wait > 0) await clock.sleep(wait);
    nextSlot = Math.max(clock.now(), nextSlot) + interval;
    try {
      const r = await fetch(config.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...config.headers },
        body: JSON.stringify({ records: batch.map(messagePayload) }),
        signal: AbortSignal.timeout(config.timeoutMs),
      });
      const text = await r.text().catch(() => '');
      if (!r.ok) {
        const failure: DeliveryResult = {
          ok: false,
          retryable: retryableStatus(r.status),
          error: `HTTP ${r.status} from ${new URL(config.url).host}`,
          retryAfterMs: retryAfterMs(r.headers.get('retry-after')),
        };
        return batch.map(() => failure);
      }
      let perRecord: Map<string, { ok: boolean; error?: string }> | undefined;
      try {
        const parsed = JSON.parse(text) as { results?: { id: string; ok: boolean; error?: string }[] };
        if (Array.isArray(parsed.results)) perRecord = new Map(parsed.results.map((x) => [x.id, x]));
      } catch {
        perRecord = undefined;
      }
      return batch.map((m): DeliveryResult => {
        const one = perRecord?.get(m.idempotencyKey);
        if (!one || one.ok) return { ok: true };
        return {
          ok: false,
          retryable: false,
          error: `rejected by the receiver: ${one.error ?? 'no reason given'}`,
        };
      });
    } catch (e) {
      return batch.map(() => ({ ok: false, retryable: true, error: `http sync: ${(e as Error).message}` }));
    }
  };
  return {
    name,
    type: 'http_sync',
    send: async (messages) => {
      const out: DeliveryResult[] = [];
      for (let i = 0; i < messages.length; i += config.batchSize) {
        out.push(...(await sendBatch(messages.slice(i, i + config.batchSize))));
      }
      return out;
    },
    close: async () => {},
  };
}
