import { z } from 'zod';

/**
 * The Segment spec message model (https://segment.com/docs/connections/spec/): the six call types and the common
 * fields. segflow stores each message as one row of `events`.
 */
export const MESSAGE_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

const Identifier = z.union([z.string(), z.number()]);
const JsonObjectSchema = z.record(z.string(), z.json());

/**
 * A Segment-spec message as SDKs send it: the one declaration of its fields, from which the TypeScript type, the
 * ingestion pipeline's field lists and the collector's OpenAPI document come. Everything is optional here because
 * validation (in SQL, see ingest.ts) reports what is missing; unknown top-level fields are kept.
 */
export const SegmentMessageSchema = z
  .looseObject({
    type: z.enum(MESSAGE_TYPES),
    event: z.string().optional().describe('track: the event name'),
    name: z.string().optional().describe('page / screen: the page or screen name'),
    messageId: z
      .string()
      .optional()
      .describe('dedupe key: a retried message with the same id is stored once'),
    userId: Identifier.nullable().optional(),
    anonymousId: Identifier.nullable().optional(),
    groupId: Identifier.optional().describe('group: the account id'),
    previousId: Identifier.optional().describe('alias: the id being merged into userId'),
    timestamp: z
      .string()
      .optional()
      .describe(
        'ISO-8601 event time; when absent it is derived from originalTimestamp, sentAt and receivedAt',
      ),
    originalTimestamp: z.string().optional(),
    sentAt: z.string().optional(),
    receivedAt: z.string().optional(),
    properties: JsonObjectSchema.optional(),
    traits: JsonObjectSchema.optional(),
    context: JsonObjectSchema.optional(),
    integrations: JsonObjectSchema.optional(),
  })
  .meta({
    id: 'SegmentMessage',
    description:
      'A Segment-spec message. Messages are validated by the ingestion pipeline, not by the request schema: one ' +
      'that fails (a track without event, a message over 32 KB, …) is kept in rejected_events with its reasons and ' +
      'counted in the 200 response, while the rest of the batch is stored.',
  });
export type SegmentMessage = z.output<typeof SegmentMessageSchema>;

type MessageField = keyof typeof SegmentMessageSchema.shape;
/** The top-level fields holding an object (JSON). */
export type ObjectField = {
  [K in MessageField]-?: NonNullable<SegmentMessage[K]> extends JsonObject ? K : never;
}[MessageField];
/** The top-level fields holding one value (text, a number or a date-time). */
export type ScalarField = Exclude<MessageField, ObjectField>;

const MESSAGE_FIELDS = Object.keys(SegmentMessageSchema.shape) as MessageField[];
const isObjectField = (field: MessageField): field is ObjectField => {
  const schema = SegmentMessageSchema.shape[field];
  return schema instanceof z.ZodOptional && schema.unwrap() instanceof z.ZodRecord;
};
/** The message's scalar fields, in the schema's order. */
export const MESSAGE_SCALAR_FIELDS: readonly ScalarField[] = MESSAGE_FIELDS.filter(
  (f): f is ScalarField => !isObjectField(f),
);
/** The message's object fields, in the schema's order. */
export const MESSAGE_OBJECT_FIELDS: readonly ObjectField[] = MESSAGE_FIELDS.filter(isObjectField);

/** Per-event size limit (the Segment collector's): larger events are rejected, never truncated. */
export const MAX_EVENT_BYTES = 32 * 1024;

/**
 * Identifier values that SDK bugs and templating mistakes produce. Linking on them would merge unrelated people into
 * one giant profile, so they are treated as absent (and an event left with no usable id is rejected).
 */
export const PLACEHOLDER_IDS: readonly string[] = [
  '',
  'null',
  'undefined',
  'nil',
  'none',
  'nan',
  '0',
  '-1',
  'anonymous',
  'guest',
  'unknown',
  'n/a',
  '[object object]',
];

/**
 * Revenue is read from the first of these properties that holds a number (or a numeric string), in this order,
 * following Segment's e-commerce spec.
 */
export const REVENUE_PROPERTIES = ['revenue', 'total', 'value'] as const;
