import type { DeliveryMessage } from './destination.js';

/** The JSON every HTTP destination sends for one message. */
export function messagePayload(m: DeliveryMessage): Record<string, unknown> {
  return {
    id: m.idempotencyKey,
    play: m.play,
    segment: m.segment,
    trigger: m.trigger,
    occurred_at: m.occurredAt.toISOString(),
    person: { id: m.personId, traits: m.traits },
    content: m.content,
  };
}

/** 408, 425, 429 and 5xx are worth retrying; other 4xx mean the request itself is wrong. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** Retry-After as milliseconds (seconds or an HTTP date), when present and sane. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
