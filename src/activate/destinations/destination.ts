import { z } from 'zod';

/**
 * The contract between the outbox and the places messages go. The outbox (src/activate/outbox) owns retries,
 * idempotency and dead letters; a destination only tries once and says whether a failure is worth retrying.
 * Audience files are not messages: they are written by `exportAudience` (src/activate/destinations/audience-file.ts).
 */

/** One message for one person from one play: what a webhook posts, an email renders and a CRM sync upserts. */
export interface DeliveryMessage {
  /** Stable per (play, person, trigger occurrence): receivers dedupe on it (webhook-id, Message-ID, upsert key). */
  idempotencyKey: string;
  play: string;
  segment: string;
  personId: string;
  trigger: 'enter' | 'exit' | 'schedule';
  /** When the trigger occurred (the as-of time of the refresh or the scheduled tick). */
  occurredAt: Date;
  /** The person's latest traits (email, name, time zone, …): templates read them. */
  traits: Record<string, unknown>;
  /** The play's offer and the chosen content variant. */
  content: { offer: string; variant: string; [key: string]: unknown };
}

export type DeliveryResult =
  | { ok: true; detail?: string }
  | { ok: false; retryable: boolean; error: string; retryAfterMs?: number };

export interface Destination {
  readonly name: string;
  readonly type: DestinationConfig['type'];
  /** Try each message once; one result per message, in order. Never throws for a delivery failure. */
  send(messages: readonly DeliveryMessage[]): Promise<DeliveryResult[]>;
  close(): Promise<void>;
}

const headerValue = z.string().max(2000);

export const WebhookDestinationConfig = z.object({
  type: z.literal('webhook'),
  url: z.url(),
  /** Standard Webhooks secret, `whsec_` + base64. */
  secret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]+$/, 'a Standard Webhooks secret: whsec_ followed by base64'),
  headers: z.record(z.string(), headerValue).optional(),
  timeoutMs: z.number().int().positive().max(120_000).default(10_000),
});

export const EmailDestinationConfig = z.object({
  type: z.literal('email'),
  /** SMTP URL, e.g. smtp://user:pass@mail.example.com:587 or smtp://127.0.0.1:2525 */
  smtp: z.string().min(1),
  from: z.string().min(3),
  /** The trait that holds the address. */
  toTrait: z.string().default('email'),
  /** Templates with {{traits.first_name}}, {{content.offer}}, {{play}}, … */
  subject: z.string().min(1),
  text: z.string().min(1),
  html: z.string().optional(),
});

export const HttpSyncDestinationConfig = z.object({
  type: z.literal('http_sync'),
  url: z.url(),
  headers: z.record(z.string(), headerValue).optional(),
  batchSize: z.number().int().positive().max(10_000).default(100),
  /** At most this many requests per second. */
  requestsPerSecond: z.number().positive().max(10_000).default(10),
  timeoutMs: z.number().int().positive().max(120_000).default(10_000),
});

export const DestinationConfig = z.discriminatedUnion('type', [
  WebhookDestinationConfig,
  EmailDestinationConfig,
  HttpSyncDestinationConfig,
]);
export type DestinationConfig = z.infer<typeof DestinationConfig>;
