import { createHmac } from 'node:crypto';
import type { z } from 'zod';
import type {
  DeliveryMessage,
  DeliveryResult,
  Destination,
  WebhookDestinationConfig,
} from './destination.js';
import { messagePayload, retryAfterMs, retryableStatus } from './payload.js';

/**
 * A webhook signed per the Standard Webhooks spec: `webhook-id` (the idempotency key, so receivers dedupe),
 * `webhook-timestamp` (seconds) and `webhook-signature` = `v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the
 * secret's bytes (base64 after `whsec_`).
 */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

export function webhookDestination(
  name: string,
  config: z.output<typeof WebhookDestinationConfig>,
  clock: () => Date = () => new Date(),
): Destination {
  const sendOne = async (m: DeliveryMessage): Promise<DeliveryResult> => {
    const body = JSON.stringify(messagePayload(m));
    const timestamp = Math.floor(clock().getTime() / 1000);
    try {
      const r = await fetch(config.url, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          ...config.headers,
          'webhook-id': m.idempotencyKey,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(config.secret, m.idempotencyKey, timestamp, body),
        },
        signal: AbortSignal.timeout(config.timeoutMs),
      });
      await r.arrayBuffer().catch(() => undefined);
      if (r.ok) return { ok: true, detail: `HTTP ${r.status}` };
      return {
        ok: false,
        retryable: retryableStatus(r.status),
        error: `HTTP ${r.status} from ${new URL(config.url).host}`,
        retryAfterMs: retryAfterMs(r.headers.get('retry-after')),
      };
    } catch (e) {
      return {
        ok: false,
        retryable: true,
        error: `webhook ${new URL(config.url).host}: ${(e as Error).message}`,
      };
    }
  };
  return {
    name,
    type: 'webhook',
    // At most 32 requests in flight: a drain of 50,000 messages must not open 50,000 sockets at once.
    send: async (messages) => {
      const out: DeliveryResult[] = new Array(messages.length);
      let next = 0;
      const worker = async () => {
        while (next < messages.length) {
          const i = next++;
          out[i] = await sendOne(messages[i]!);
        }
      };
      await Promise.all(Array.from({ length: Math.min(32, messages.length) }, worker));
      return out;
    },
    close: async () => {},
  };
}
