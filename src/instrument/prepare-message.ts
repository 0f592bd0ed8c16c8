import { MAX_EVENT_BYTES, MESSAGE_TYPES, PLACEHOLDER_IDS, REVENUE_PROPERTIES } from './segment-spec.js';

/**
 * The collector's fast path. Almost every message an SDK sends is plainly valid: string ids, an ISO-8601 UTC
 * timestamp, object properties. For those, this module does in TypeScript what the SQL checks in `ingest.ts` would
 * conclude, and hands the engine the typed row as one flat record that it splits instead of parsing JSON — the engine's
 * JSON parsing was half the cost of a commit.
 *
 * The SQL checks stay the only judge of anything unusual. `prepareMessage` returns a record only when it is certain
 * the SQL checks would accept the message and derive exactly these columns; for everything else (a number as an id, a
 * date without an offset, a string revenue, a placeholder id, a large or exotic message, any problem at all) it
 * returns the message's JSON text for the SQL path, which reports problems as before. A differential test holds the
 * two paths to the same rows.
 */

/** A message ready for ingestion: a typed record (fast path) or its JSON text (checked in SQL). */
export type PreparedMessage = { readonly record: string } | { readonly raw: string };

/** Separates the fields of a record. JSON.stringify escapes it inside JSON texts; other fields must not contain it. */
export const RECORD_SEPARATOR = '\u001f';

/** The record's fields, in order; an empty field is NULL. Timestamps are whole microseconds since the epoch, UTC. */
export const RECORD_FIELDS = [
  'message_id',
  'type',
  'event',
  'name',
  'user_id',
  'anonymous_id',
  'group_id',
  'previous_id',
  'ts',
  'original_timestamp',
  'sent_at',
  'received_at',
  'revenue',
  'properties',
  'traits',
  'context',
  'integrations',
] as const;
export type RecordField = (typeof RECORD_FIELDS)[number];

export const RECORD_TIMESTAMPS: readonly RecordField[] = [
  'ts',
  'original_timestamp',
  'sent_at',
  'received_at',
];
export const RECORD_JSON: readonly RecordField[] = ['properties', 'traits', 'context', 'integrations'];

const TYPES = new Set<string>(MESSAGE_TYPES);
const PLACEHOLDERS = new Set(PLACEHOLDER_IDS);
/**
 * The fast path only takes messages whose JSON text is surely under the size limit even if the engine re-serializes
 * every character as a six-character escape; bigger ones are measured in SQL.
 */
const FAST_SIZE_LIMIT = Math.floor(MAX_EVENT_BYTES / 6);
/** Printable ASCII: ids outside it go to SQL, where the placeholder test (trim, lower) is defined. */
const PLAIN_ID = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
/** Control characters (the separator among them) and surrogates: such text goes to SQL. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const UNUSUAL_TEXT = /[\u0000-\u001f\ud800-\udfff]/;
/** JSON.stringify writes a lone surrogate as an escape; the engine's JSON parser may refuse one. */
const ESCAPED_SURROGATE = /\\ud[89a-f]/i;
/** Days before each month in a common year. */
const DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

/** The value of `count` ASCII digits at `at`, or -1 if any is not a digit. */
function digits(text: string, at: number, count: number): number {
  let v = 0;
  for (let i = at; i < at + count; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Microseconds since the epoch of an ISO-8601 instant in the form SDKs send, YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|±HH:MM),
 * or undefined for any other text (the engine's parser judges those). Hand-parsed: it runs for every timestamp of
 * every event the collector takes.
 */
export function isoInstantMicros(text: string): number | undefined {
  const n = text.length;
  if (n < 20 || n > 32) return undefined;
  if (text[4] !== '-' || text[7] !== '-' || text[10] !== 'T' || text[13] !== ':' || text[16] !== ':')
    return undefined;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  // Before 1900 calendars get historical (Julian dates, local mean time); the engine's parser decides those.
  if (year < 1900 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return undefined;
  if (minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const monthDays = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  if (day > monthDays) return undefined;
  let at = 19;
  let fraction = 0;
  if (text[at] === '.') {
    let places = 0;
    at++;
    while (at < n && places < 7) {
      const c = text.charCodeAt(at) - 48;
      if (c < 0 || c > 9) break;
      fraction = fraction * 10 + c;
      places++;
      at++;
    }
    if (places === 0 || places > 6) return undefined;
    fraction *= 10 ** (6 - places);
  }
  let offsetMinutes = 0;
  if (text[at] === 'Z' && at + 1 === n) {
    // UTC
  } else if ((text[at] === '+' || text[at] === '-') && at + 6 === n && text[at + 3] === ':') {
    const oh = digits(text, at + 1, 2);
    const om = digits(text, at + 4, 2);
    if (oh < 0 || oh > 14 || om < 0 || om > 59) return undefined;
    offsetMinutes = (text[at] === '-' ? -1 : 1) * (oh * 60 + om);
  } else return undefined;
  // Days since the epoch (proleptic Gregorian), then seconds.
  const y = year - 1;
  const days =
    365 * (year - 1970) +
    (Math.floor(y / 4) - Math.floor(y / 100) + Math.floor(y / 400) - 477) +
    DAYS_BEFORE_MONTH[month - 1]! +
    (month > 2 && leap ? 1 : 0) +
    day -
    1;
  const seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60;
  return seconds * 1_000_000 + fraction;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A usable id for the fast path: a printable-ASCII string that is not a placeholder. */
function plainId(v: unknown): v is string {
  return typeof v === 'string' && PLAIN_ID.test(v) && !PLACEHOLDERS.has(v.toLowerCase());
}

/** An optional field as the fast path takes it: absent, or a plain id. `false` means "let SQL judge". */
function optionalId(v: unknown): string | null | false {
  if (v === undefined || v === null) return null;
  return plainId(v) ? v : false;
}

function optionalInstant(v: unknown): number | null | false {
  if (v === undefined || v === null) return null;
  // A Date is serialized as its ISO text (milliseconds, Z), which the engine reads back to the same instant.
  if (v instanceof Date) return Number.isFinite(v.getTime()) ? v.getTime() * 1000 : false;
  if (typeof v !== 'string') return false;
  return isoInstantMicros(v) ?? false;
}

/** An optional object field as its JSON text, or false. */
function optionalObject(v: unknown): string | null | false {
  if (v === undefined || v === null) return null;
  // An object with its own toJSON serializes as whatever that returns: SQL judges the text.
  if (!isPlainObject(v) || typeof v.toJSON === 'function') return false;
  const text = JSON.stringify(v);
  return ESCAPED_SURROGATE.test(text) ? false : text;
}

/** Text fields that are not ids (event and page names): any non-blank text without control characters. */
function plainText(v: unknown): v is string {
  return typeof v === 'string' && v.trim() !== '' && !UNUSUAL_TEXT.test(v);
}

const OBJECT_KEYS = new Set(['properties', 'traits', 'context', 'integrations']);

/**
 * Prepare one message (a value parsed from JSON, or built by a caller) for ingestion. `receivedAt` is used when the
 * message carries no receivedAt of its own.
 */
export function prepareMessage(message: unknown, receivedAt: Date): PreparedMessage {
  return fastRecord(message, receivedAt) ?? { raw: JSON.stringify(message) ?? 'null' };
}

function fastRecord(m: unknown, receivedAt: Date): PreparedMessage | undefined {
  if (!isPlainObject(m)) return undefined;
  const type = m.type;
  if (typeof type !== 'string' || !TYPES.has(type)) return undefined;
  const messageId = m.messageId;
  if (typeof messageId !== 'string' || messageId === '' || UNUSUAL_TEXT.test(messageId)) return undefined;

  const userId = optionalId(m.userId);
  const anonymousId = optionalId(m.anonymousId);
  const groupId = optionalId(m.groupId);
  const previousId = optionalId(m.previousId);
  if (userId === false || anonymousId === false || groupId === false || previousId === false)
    return undefined;
  if (userId === null && anonymousId === null) return undefined;
  if (type === 'alias' && (previousId === null || userId === null)) return undefined;
  if (type === 'group' && groupId === null) return undefined;

  let event: string | null = null;
  if (type === 'track') {
    if (!plainText(m.event)) return undefined;
    event = m.event;
  }
  let name: string | null = null;
  if ((type === 'page' || type === 'screen') && m.name !== undefined && m.name !== null) {
    if (!plainText(m.name)) return undefined;
    name = m.name;
  }

  const timestamp = optionalInstant(m.timestamp);
  const original = optionalInstant(m.originalTimestamp);
  const sentAt = optionalInstant(m.sentAt);
  const ownReceived = optionalInstant(m.receivedAt);
  if (timestamp === false || original === false || sentAt === false || ownReceived === false)
    return undefined;
  const received = ownReceived ?? receivedAt.getTime() * 1000;
  if (!Number.isSafeInteger(received)) return undefined;
  const ts =
    timestamp ??
    (original !== null && sentAt !== null ? received - (sentAt - original) : (original ?? received));

  const properties = optionalObject(m.properties);
  const traits = optionalObject(m.traits);
  const context = optionalObject(m.context);
  const integrations = optionalObject(m.integrations);
  if (properties === false || traits === false || context === false || integrations === false)
    return undefined;

  let revenue: number | null = null;
  if (properties !== null) {
    const props = m.properties as Record<string, unknown>;
    for (const key of REVENUE_PROPERTIES) {
      const v = props[key];
      // A numeric string is parsed by the engine's rules, and an object may serialize itself as a number (toJSON):
      // both go to SQL. JSON.stringify writes a non-finite number as null, which holds no revenue.
      if (
        typeof v === 'string' ||
        (typeof v === 'object' && v !== null && !isPlainObject(v) && !Array.isArray(v))
      )
        return undefined;
      if (typeof v === 'number' && Number.isFinite(v)) {
        revenue = v;
        break;
      }
    }
  }

  // An upper bound of the message's JSON length (see FAST_SIZE_LIMIT), other top-level fields included: a character
  // of a string or key is at most six in JSON (\u0000).
  let size = 2;
  for (const key in m) {
    const v = m[key];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    size += key.length * 6 + 4;
    if (typeof v === 'string') size += v.length * 6;
    else if (typeof v !== 'object' || v === null) size += 24;
    else if (!OBJECT_KEYS.has(key)) size += JSON.stringify(v)?.length ?? 0;
    if (size > FAST_SIZE_LIMIT) return undefined;
  }
  for (const text of [properties, traits, context, integrations]) size += text?.length ?? 0;
  if (size > FAST_SIZE_LIMIT) return undefined;

  const stored = (keep: boolean, text: string | null) => (keep && text !== null ? text : '');
  const fields = [
    messageId,
    type,
    event ?? '',
    name ?? '',
    userId ?? '',
    anonymousId ?? '',
    groupId ?? '',
    previousId ?? '',
    String(ts),
    original === null ? '' : String(original),
    sentAt === null ? '' : String(sentAt),
    String(received),
    revenue === null ? '' : String(revenue),
    stored(type === 'track' || type === 'page' || type === 'screen', properties),
    stored(type === 'identify' || type === 'group', traits),
    context ?? '',
    integrations ?? '',
  ];
  return { record: fields.join(RECORD_SEPARATOR) };
}
