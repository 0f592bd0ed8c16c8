import type { MessageType, SegmentMessage } from '../instrument/segment-spec.js';

/**
 * What the behaviour generator emits: Segment-spec messages (the instrument step's SegmentMessage, narrowed to what
 * the generator always sets) and the ground truth of each simulated person.
 */
export type { JsonObject, JsonValue } from '../instrument/segment-spec.js';
export type SegmentEventType = MessageType;

type Identifier = 'userId' | 'anonymousId' | 'groupId' | 'previousId';

/**
 * A generated Segment-spec message: a SegmentMessage whose identifiers are strings and whose messageId and timestamp
 * (ISO-8601 UTC with milliseconds) are always set. Nested objects (context, product properties) may be shared between
 * messages of one batch: treat them as read-only.
 */
export type SegmentEvent = Pick<
  SegmentMessage,
  'type' | 'event' | 'name' | 'properties' | 'traits' | 'context'
> & {
  messageId: string;
  timestamp: string;
} & { [K in Identifier]?: string };

/** What the simulation knows about a person and the data only shows indirectly. */
export interface GroundTruth {
  /**
   * The person's key: its userId when it ever identified, else its smallest anonymousId — the id segflow's identity
   * graph should choose as the canonical person id.
   */
  personKey: string;
  archetype: string;
  /**
   * Expected purchases per active day (ecommerce: Order Completed; saas: monthly invoices of the paying admin, 0 for
   * other users). The active window runs from the window start (or the in-window signup) to the churn date (or the
   * window end); the expected count in it is exactly purchaseRatePerDay × active days.
   */
  purchaseRatePerDay: number;
  /** When the person (saas: the account) stopped for good, inside the window; no message of it comes later. */
  churnDate: string | null;
  /** saas: the account (group) id. */
  accountId?: string;
  /** Every anonymousId used in the person's messages (including an aliased previousId), in order of first use. */
  anonymousIds: string[];
  userId: string | null;
  /** When the person (saas: the user) signed up; before the window for existing customers; null if never registered. */
  signupDate: string | null;
  /** saas: the user's role in the account. */
  role?: string;
}
