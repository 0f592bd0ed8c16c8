import type { Rng } from '../shared/seeded-random.js';
import type { GroundTruth, JsonObject, SegmentEvent, SegmentEventType } from './generated-message.js';

/**
 * The timeline of one generated unit (an ecommerce person, or a SaaS account with its users): the profile code adds
 * drafts (time, identity slot, content) in any order; `finish` sorts them by time and only then decides which ids
 * each message carries. Deciding ids after sorting keeps identity realistic without bookkeeping in the profiles: a
 * device's messages are anonymous until that device's first `identify`, and carry the userId from then on, exactly
 * as analytics.js and the mobile SDKs behave.
 */

export type Channel = 'web' | 'mobile' | 'server';

/** What a profile produces per step: one ecommerce person, or one SaaS account with its users. */
export interface GeneratedUnit {
  events: SegmentEvent[];
  truth: GroundTruth[];
}

/** Where messages come from: one browser or app install (an anonymousId), or the person's server side (userId only). */
interface Slot {
  person: number;
  channel: Channel;
  anonymousId: string | null;
  userId: string | null;
  context: JsonObject;
}

interface Draft {
  ts: number;
  slot: number;
  type: SegmentEventType;
  /** track: the event name; page/screen: the page name. */
  name: string | null;
  /** properties (track/page/screen) or traits (identify/group). */
  body: JsonObject | null;
  groupId: string | null;
  previousId: string | null;
  /** Replaces the slot's shared context (identify with consent preferences). */
  context: JsonObject | null;
}

/** `context.library` of every generated message. */
const LIBRARY = { name: 'segflow-generator', version: '1' } as const;

const PAGE_PROPERTIES = new Map<string, JsonObject>();

export interface FinishedTimeline {
  /** Messages in time order (ties keep the order they were added). */
  events: SegmentEvent[];
  /** Per person: the anonymousIds that appear in its messages, in order of first appearance. */
  anonymousIds: string[][];
  /** Per person: its userId if any message carries it. */
  userIds: (string | null)[];
}

export class Timeline {
  private readonly drafts: Draft[] = [];
  private readonly slots: Slot[] = [];
  private readonly siteUrl: string;
  // The open session: its slot, current time, start and the index of its first draft.
  private slot = -1;
  private now = 0;
  private sessionStart = 0;
  private sessionFirst = 0;

  constructor(siteUrl: string) {
    this.siteUrl = siteUrl;
  }

  /**
   * Register a source of messages. `extraContext` is merged into the shared context object of the slot (e.g. the
   * SaaS account as `context.groupId`); contexts are shared between messages, never copied per message.
   */
  addSlot(opts: {
    person: number;
    channel: Channel;
    anonymousId: string | null;
    userId: string | null;
    extraContext?: JsonObject;
  }): number {
    const context: JsonObject = shared({ library: LIBRARY, channel: opts.channel, ...opts.extraContext });
    this.slots.push({
      person: opts.person,
      channel: opts.channel,
      anonymousId: opts.anonymousId,
      userId: opts.userId,
      context,
    });
    return this.slots.length - 1;
  }

  // ---- sessions: consecutive actions on one device --------------------------------------------------------------

  begin(slot: number, startMs: number): void {
    this.slot = slot;
    this.now = startMs;
    this.sessionStart = startMs;
    this.sessionFirst = this.drafts.length;
  }

  wait(ms: number): void {
    this.now += ms;
  }

  track(event: string, properties: JsonObject): void {
    this.push(this.now, this.slot, 'track', event, properties);
  }

  /** A page view on the web, a screen view in the app. */
  page(name: string, path: string): void {
    const mobile = this.slots[this.slot]!.channel === 'mobile';
    // Sites have a bounded set of pages, so their properties are built once and shared.
    const key = `${mobile ? 'm' : 'w'}|${this.siteUrl}|${name}|${path}`;
    let properties = PAGE_PROPERTIES.get(key);
    if (properties === undefined) {
      const built: JsonObject = mobile ? { path } : { path, url: this.siteUrl + path, title: name };
      properties = shared(built);
      PAGE_PROPERTIES.set(key, properties);
    }
    this.push(this.now, this.slot, mobile ? 'screen' : 'page', name, properties);
  }

  /** `extraContext` (e.g. consent preferences) is merged into a copy of the slot's context for this message. */
  identify(traits: JsonObject, extraContext?: JsonObject): void {
    const context =
      extraContext === undefined ? null : { ...this.slots[this.slot]!.context, ...extraContext };
    this.push(this.now, this.slot, 'identify', null, traits, null, null, context);
  }

  group(groupId: string, traits: JsonObject): void {
    this.push(this.now, this.slot, 'group', null, traits, groupId);
  }

  alias(previousId: string): void {
    this.push(this.now, this.slot, 'alias', null, null, null, previousId);
  }

  /**
   * Close the session. A session that would run past `boundMs` (the end of the window, a churn date, a signup) is
   * compressed in time to end before it, so a process's event count never depends on where its sessions fall.
   */
  end(boundMs: number): void {
    const last = this.drafts.length - 1;
    if (last < this.sessionFirst) return;
    const span = this.drafts[last]!.ts - this.sessionStart;
    if (this.sessionStart + span < boundMs || span <= 0) return;
    const room = Math.max(0, boundMs - 1 - this.sessionStart);
    for (let i = this.sessionFirst; i <= last; i++) {
      const d = this.drafts[i]!;
      d.ts = this.sessionStart + Math.floor(((d.ts - this.sessionStart) * room) / span);
    }
  }

  // ---- single messages outside sessions (server side: emails, tickets, billing) --------------------------------

  trackAt(slot: number, ts: number, event: string, properties: JsonObject): void {
    this.push(ts, slot, 'track', event, properties);
  }

  private push(
    ts: number,
    slot: number,
    type: SegmentEventType,
    name: string | null,
    body: JsonObject | null,
    groupId: string | null = null,
    previousId: string | null = null,
    context: JsonObject | null = null,
  ): void {
    this.drafts.push({ ts, slot, type, name, body, groupId, previousId, context });
  }

  /**
   * Sort, attach ids, and build the messages. `idRng` supplies the messageIds, in output order, so they are unique
   * (122 random bits each) and reproducible.
   */
  finish(idRng: Rng, personCount: number): FinishedTimeline {
    const drafts = this.drafts;
    // Array#sort is stable: drafts with equal times keep the order the profile added them in.
    drafts.sort((x, y) => x.ts - y.ts);

    // A device is logged in from its first identify (inclusive) on; alias and identify always name the user.
    const loginTs = new Float64Array(this.slots.length).fill(Number.POSITIVE_INFINITY);
    for (const d of drafts) {
      if (d.type === 'identify' && d.ts < loginTs[d.slot]!) loginTs[d.slot] = d.ts;
    }

    const anonymousIds: string[][] = Array.from({ length: personCount }, () => []);
    const userIds: (string | null)[] = new Array<string | null>(personCount).fill(null);
    const seenAnonymous = new Set<string>();
    const events: SegmentEvent[] = new Array<SegmentEvent>(drafts.length);

    for (let i = 0; i < drafts.length; i++) {
      const d = drafts[i]!;
      const slot = this.slots[d.slot]!;
      const messageId = idRng.uuid();
      const timestamp = isoTimestamp(d.ts);
      let ev: SegmentEvent;
      switch (d.type) {
        case 'track':
          ev = { type: 'track', event: d.name!, messageId, timestamp };
          break;
        case 'page':
        case 'screen':
          ev = { type: d.type, name: d.name!, messageId, timestamp };
          break;
        case 'identify':
        case 'group':
        case 'alias':
          ev = { type: d.type, messageId, timestamp };
          break;
        default:
          return assertNever(d.type);
      }
      if (slot.anonymousId !== null) {
        ev.anonymousId = slot.anonymousId;
        if (!seenAnonymous.has(slot.anonymousId)) {
          seenAnonymous.add(slot.anonymousId);
          anonymousIds[slot.person]!.push(slot.anonymousId);
        }
      }
      const named =
        slot.anonymousId === null || d.type === 'identify' || d.type === 'alias' || d.ts >= loginTs[d.slot]!;
      if (named && slot.userId !== null) {
        ev.userId = slot.userId;
        userIds[slot.person] = slot.userId;
      }
      if (d.groupId !== null) ev.groupId = d.groupId;
      if (d.previousId !== null) ev.previousId = d.previousId;
      if (d.body !== null) {
        if (d.type === 'identify' || d.type === 'group') ev.traits = d.body;
        else ev.properties = d.body;
      }
      ev.context = d.context ?? slot.context;
      events[i] = ev;
    }
    return { events, anonymousIds, userIds };
  }
}

// ---- serialization ----------------------------------------------------------------------------------------------

/**
 * Objects reused by many messages (slot contexts, catalog products, account traits). Their JSON is computed once and
 * spliced into every line that holds them, which is most of what makes writing fast.
 */
const SHARED = new WeakSet<object>();
const SHARED_JSON = new WeakMap<object, string>();

/** Mark an object as shared between messages (and so never to be mutated); returns it. */
export function shared<T extends object>(obj: T): T {
  SHARED.add(obj);
  return obj;
}

function objectJson(obj: JsonObject): string {
  if (!SHARED.has(obj)) return JSON.stringify(obj);
  let json = SHARED_JSON.get(obj);
  if (json === undefined) {
    json = JSON.stringify(obj);
    SHARED_JSON.set(obj, json);
  }
  return json;
}

/**
 * One NDJSON line (with its newline) for a generated message: exactly `JSON.stringify(ev) + '\n'` for the messages
 * `Timeline#finish` builds (their keys are always in this order; a test checks the equality), only faster.
 */
export function toJsonLine(ev: SegmentEvent): string {
  let s = `{"type":"${ev.type}"`;
  if (ev.event !== undefined) s += `,"event":${JSON.stringify(ev.event)}`;
  if (ev.name !== undefined) s += `,"name":${JSON.stringify(ev.name)}`;
  s += `,"messageId":${JSON.stringify(ev.messageId)},"timestamp":"${ev.timestamp}"`;
  if (ev.anonymousId !== undefined) s += `,"anonymousId":${JSON.stringify(ev.anonymousId)}`;
  if (ev.userId !== undefined) s += `,"userId":${JSON.stringify(ev.userId)}`;
  if (ev.groupId !== undefined) s += `,"groupId":${JSON.stringify(ev.groupId)}`;
  if (ev.previousId !== undefined) s += `,"previousId":${JSON.stringify(ev.previousId)}`;
  if (ev.properties !== undefined) s += `,"properties":${objectJson(ev.properties)}`;
  if (ev.traits !== undefined) s += `,"traits":${objectJson(ev.traits)}`;
  if (ev.context !== undefined) s += `,"context":${objectJson(ev.context)}`;
  return `${s}}\n`;
}

const TWO_DIGITS: readonly string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const THREE_DIGITS: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const DAY = 86_400_000;
/** Years 0000-9999: outside them toISOString uses the expanded six-digit form, which the fast path does not build. */
const FAST_ISO_MAX = 253_402_300_800_000;
let cachedDay = Number.NaN;
let cachedDayPrefix = '';

/**
 * `new Date(ms).toISOString()`, faster: a person's messages are sorted, so the date part changes rarely and is
 * cached; the time of day is assembled from lookup tables.
 */
export function isoTimestamp(ms: number): string {
  if (!(ms >= 0 && ms < FAST_ISO_MAX) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDayPrefix = new Date(day * DAY).toISOString().slice(0, 11);
  }
  let rest = ms - day * DAY;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  return `${cachedDayPrefix}${TWO_DIGITS[hours]!}:${TWO_DIGITS[minutes]!}:${TWO_DIGITS[seconds]!}.${THREE_DIGITS[rest - seconds * 1000]!}Z`;
}

export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${String(x)}`);
}

/** Round to cents (money) or to a fixed number of decimals. */
export function round(x: number, decimals = 2): number {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
}

/** Six significant digits: the truth file stays readable and the simulation uses exactly the value it states. */
export function roundSignificant(x: number): number {
  return Number(x.toPrecision(6));
}

export function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

const FIRST_NAMES = [
  'Olivia',
  'Liam',
  'Emma',
  'Noah',
  'Ava',
  'Mateo',
  'Sophia',
  'Lucas',
  'Mia',
  'Ethan',
  'Amara',
  'Hiro',
  'Zara',
  'Ines',
  'Omar',
  'Priya',
  'Chen',
  'Fatima',
  'Jonas',
  'Lea',
  'Diego',
  'Yuki',
  'Nora',
  'Kofi',
  'Elena',
  'Samir',
  'Freya',
  'Ivan',
  'Chloe',
  'Arjun',
  'Maya',
  'Tomas',
  'Leila',
  'Finn',
  'Aisha',
  'Luca',
  'Sara',
  'Kai',
  'Ana',
  'Ben',
];
const LAST_NAMES = [
  'Smith',
  'Garcia',
  'Chen',
  'Okafor',
  'Muller',
  'Rossi',
  'Kim',
  'Nguyen',
  'Silva',
  'Patel',
  'Cohen',
  'Novak',
  'Dubois',
  'Hansen',
  'Tanaka',
  'Ali',
  'Murphy',
  'Lopez',
  'Berg',
  'Ivanova',
  'Mensah',
  'Costa',
  'Weber',
  'Sato',
  'Khan',
  'Jensen',
  'Moreau',
  'Reyes',
  'Fischer',
  'Park',
  'Haddad',
  'Larsen',
  'Evans',
  'Santos',
  'Yilmaz',
  'Quinn',
];

export interface PersonName {
  first: string;
  last: string;
}

export function randomName(rng: Rng): PersonName {
  return { first: rng.pick(FIRST_NAMES), last: rng.pick(LAST_NAMES) };
}

/** An email that is unique because it embeds the (random, 64-bit) user id's hex. */
export function emailFor(name: PersonName, userId: string, domain: string): string {
  const tag = userId.slice(userId.indexOf('_') + 1, userId.indexOf('_') + 11);
  return `${name.first.toLowerCase()}.${name.last.toLowerCase()}.${tag}@${domain}`;
}

/**
 * Survey scores from a latent satisfaction in [0, 1]: CSAT 1-5, NPS 0-10, normally spread around the level the
 * satisfaction implies, so happier archetypes answer higher on average.
 */
export function surveyScore(rng: Rng, satisfaction: number, survey: 'CSAT' | 'NPS'): number {
  switch (survey) {
    case 'CSAT':
      return clamp(Math.round(rng.normal(1 + 4 * satisfaction, 0.8)), 1, 5);
    case 'NPS':
      return clamp(Math.round(rng.normal(10 * satisfaction + 0.5, 1.8)), 0, 10);
    default:
      return assertNever(survey);
  }
}
