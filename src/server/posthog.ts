import { isPlainObject } from './body.js';

/**
 * PostHog's capture batch (`POST /batch/`, as posthog-node and posthog-js send it) mapped into Segment-spec messages,
 * so they run through the same pipeline:
 *
 *   $identify        → identify: userId = distinct_id, anonymousId = $anon_distinct_id, traits = $set_once + $set
 *   $create_alias    → alias: userId = distinct_id, previousId = properties.alias
 *   $set             → identify with traits = $set_once + $set
 *   $groupidentify   → group: groupId = $group_key, traits = $group_set (+ $group_type)
 *   $pageview        → page: name = $pathname (or $current_url), properties as sent
 *   $screen          → screen: name = $screen_name
 *   anything else    → track: event = the event name, properties as sent
 *
 * `distinct_id` becomes userId (anonymousId on events posthog-js marks `$is_identified: false`), `uuid` the messageId (so retries deduplicate), `timestamp` the event time and
 * `sent_at` the sentAt used for clock-skew correction. `$set_once` values are stored as traits like `$set` ones
 * (segflow keeps the latest value per trait, so a later `$set` still wins). A message that is not an object, or has
 * no distinct_id, is passed on as is and rejected by validation with its reason.
 */
export interface PostHogBatch {
  apiKey: string | undefined;
  messages: unknown[];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

function obj(v: unknown): Record<string, unknown> {
  return isPlainObject(v) ? v : {};
}

/** The batch's events and API key, or undefined when the body has no batch (the caller answers 400). */
export function readPostHogBody(body: unknown): PostHogBatch | undefined {
  if (Array.isArray(body)) {
    const first = body.find(isPlainObject);
    return { apiKey: str(first?.api_key) ?? str(first?.token), messages: body };
  }
  if (!isPlainObject(body)) return undefined;
  const batch = Array.isArray(body.batch) ? body.batch : Array.isArray(body.data) ? body.data : undefined;
  if (!batch) return undefined;
  const first = batch.find(isPlainObject);
  return {
    apiKey: str(body.api_key) ?? str(body.token) ?? str(first?.api_key) ?? str(first?.token),
    messages: batch,
  };
}

/** One PostHog event as a Segment-spec message. */
export function postHogToSegment(e: unknown, sentAt: unknown): unknown {
  if (!isPlainObject(e)) return e;
  const props = obj(e.properties);
  const {
    $set,
    $set_once,
    $anon_distinct_id,
    $group_type,
    $group_key,
    $group_set,
    distinct_id: _d,
    alias,
    ...rest
  } = props;
  const base: Record<string, unknown> = {
    messageId: e.uuid,
    userId: e.distinct_id ?? props.distinct_id,
    timestamp: e.timestamp,
    sentAt: e.sent_at ?? sentAt,
    context: { library: { name: rest.$lib ?? 'posthog', version: rest.$lib_version } },
  };
  const traits = { ...obj($set_once), ...obj($set) };
  // posthog-js marks events of a not-yet-identified visitor; their distinct_id is an anonymous id.
  const asEvent =
    props.$is_identified === false ? { ...base, userId: undefined, anonymousId: base.userId } : base;
  switch (e.event) {
    case '$identify':
      return { ...base, type: 'identify', anonymousId: $anon_distinct_id, traits };
    case '$set':
      return { ...base, type: 'identify', traits };
    case '$create_alias':
      return { ...base, type: 'alias', previousId: alias };
    case '$groupidentify':
      return {
        ...base,
        type: 'group',
        groupId: $group_key,
        traits: { ...obj($group_set), ...($group_type === undefined ? {} : { group_type: $group_type }) },
      };
    case '$pageview':
      return {
        ...asEvent,
        type: 'page',
        name: str(rest.$pathname) ?? str(rest.$current_url),
        properties: { ...props, url: rest.$current_url, path: rest.$pathname },
      };
    case '$screen':
      return { ...asEvent, type: 'screen', name: str(rest.$screen_name), properties: props };
    default:
      return { ...asEvent, type: 'track', event: e.event, properties: props };
  }
}
