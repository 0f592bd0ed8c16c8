import { z } from 'zod';
import type { Limits } from './body.js';
import { HttpError } from './http-error.js';

/**
 * The request and response schemas of the HTTP API. Each one both validates requests (here, in the route handlers)
 * and generates the OpenAPI document (`/api/openapi.json`), so the two cannot drift apart.
 */
export const ErrorSchema = z
  .object({
    code: z.string().describe('stable, for scripts to match on, e.g. AUTH_INVALID'),
    message: z.string().describe('what was wrong'),
    hint: z.string().optional().describe('how to fix it'),
  })
  .meta({ id: 'Error', description: 'Every error from every segflow endpoint has this shape.' });

const jsonObject = z.record(z.string(), z.unknown());

export { SegmentMessageSchema } from '../instrument/segment-spec.js';

const messageItem = z.unknown().describe('a SegmentMessage (validated by the pipeline; see SegmentMessage)');

export function batchBodySchema(limits: Limits) {
  return z
    .looseObject({
      batch: z.array(messageItem).max(limits.maxBatchEvents),
      writeKey: z.string().optional(),
      sentAt: z
        .string()
        .optional()
        .describe('applied to messages without their own sentAt (clock-skew correction)'),
      context: jsonObject.optional().describe('merged under each message’s own context'),
      integrations: jsonObject.optional(),
    })
    .meta({
      id: 'Batch',
      description: `Up to ${limits.maxBatchEvents} messages, at most ${limits.maxBodyBytes} bytes.`,
    });
}

export const SingleBodySchema = z.looseObject({ writeKey: z.string().optional() }).meta({
  id: 'SingleMessage',
  description: 'One SegmentMessage; its type is taken from the path (/v1/track, /v1/t, …).',
});

export function postHogBodySchema(limits: Limits) {
  const events = z.array(z.unknown().describe('a PostHog event')).max(limits.maxBatchEvents);
  return z
    .union([
      z.looseObject({
        api_key: z.string().optional(),
        token: z.string().optional(),
        batch: events,
        sent_at: z.string().optional(),
      }),
      events,
    ])
    .meta({ id: 'PostHogBatch', description: 'PostHog capture batch (posthog-node, posthog-js).' });
}

export const CollectorResponseSchema = z
  .object({
    success: z.literal(true),
    received: z.int().describe('messages in the request'),
    accepted: z.int().describe('messages stored now or already stored (same messageId): durably committed'),
    rejected: z.int().describe('messages that failed validation, kept in rejected_events'),
    problems: z
      .array(
        z.object({
          index: z.int().describe('0-based position in the batch'),
          messageId: z.string().nullable(),
          problems: z.array(z.string()),
        }),
      )
      .describe('the first rejected messages with their problems'),
  })
  .meta({ id: 'CollectorResponse' });

/** Validate with a schema; failures become a 400 naming each problem's location. */
export function validate<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: string,
  options: { tooBig?: (issue: z.core.$ZodIssue) => HttpError | undefined } = {},
): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  for (const issue of r.error.issues) {
    const special = issue.code === 'too_big' ? options.tooBig?.(issue) : undefined;
    if (special) throw special;
  }
  const problems = r.error.issues
    .slice(0, 5)
    .map((i) => `${[where, ...i.path.map(String)].join('.')}: ${i.message}`)
    .join('; ');
  throw new HttpError(
    400,
    where === 'body' ? 'BODY_INVALID' : 'REQUEST_INVALID',
    problems,
    'see /api/openapi.json for the expected shape',
  );
}
