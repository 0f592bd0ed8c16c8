/**
 * The Segment spec message model (https://segment.com/docs/connections/spec/): the six call types and the common
 * fields. segflow stores each message as one row of `events`.
 */
export const MESSAGE_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A Segment-spec message as SDKs send it. Everything is optional here because validation reports what is missing. */
export interface SegmentMessage {
  type: MessageType;
  messageId?: string;
  userId?: string | number | null;
  anonymousId?: string | number | null;
  /** track: the event name. */
  event?: string;
  /** page / screen: the page or screen name. */
  name?: string;
  /** group: the account id. */
  groupId?: string | number;
  /** alias: the id being merged into userId. */
  previousId?: string | number;
  /** When the event happened (ISO-8601). When absent it is derived from originalTimestamp, sentAt and receivedAt. */
  timestamp?: string;
  originalTimestamp?: string;
  sentAt?: string;
  receivedAt?: string;
  properties?: JsonObject;
  traits?: JsonObject;
  context?: JsonObject;
  integrations?: JsonObject;
}

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
