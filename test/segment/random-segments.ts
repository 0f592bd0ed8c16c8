import type { Condition, EventMatch, SegmentDefinition } from '../../src/segment/definition.js';
import { mulberry32 } from '../helpers/random.js';
import type { ReferenceEvent } from './reference.js';

/** Seeded random event logs and segment definitions for the differential test. */
export const rng = mulberry32;

const DAY = 86_400_000;
const EVENTS = ['Viewed Pricing', 'Added', 'Order Completed', 'Opened'];
const PAGES = ['Pricing', 'Home'];
const WORDS = ['pro', 'free', 'x', 'zz'];
const DURATIONS = ['1h', '6h', '1d', '2d', '7d', '14d', '30d', '1w'];

export interface RandomLog {
  /** Segment messages to ingest. */
  messages: Record<string, unknown>[];
  /** The same events as the reference evaluator sees them (person resolved by construction). */
  events: ReferenceEvent[];
  asOf: Date;
}

/**
 * A log for `people` people over ~40 days before T (and a few after it, which must never count). Each person has a
 * userId `u<i>` and an anonymous id; some events carry only the anonymous id, and one identify (at any time, even
 * after T) links the two, so the engine must resolve them to the same person. Event times are whole seconds and
 * some fall exactly on window edges (T − 1d, T − 7d, …).
 */
export function randomLog(r: () => number, people: number, prefix: string): RandomLog {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const T = Date.UTC(2026, 5, 1) + Math.floor(r() * 30) * DAY + Math.floor(r() * 86_400) * 1000;
  const messages: Record<string, unknown>[] = [];
  const events: ReferenceEvent[] = [];
  let n = 0;
  for (let p = 0; p < people; p++) {
    const user = `${prefix}u${p}`;
    const anon = `${prefix}a${p}`;
    const count = Math.floor(r() * 14);
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const edge = r() < 0.15;
      const ts = edge
        ? T - durationEdge(pick(DURATIONS)) + pick([0, 0, -1000, 1000])
        : T - Math.floor(r() * 40 * 86_400) * 1000 + (r() < 0.05 ? 3 * DAY : 0);
      times.push(ts);
    }
    // The link between the anonymous id and the user, at a random time (sometimes after T).
    const linkAt = T - Math.floor(r() * 45 * 86_400) * 1000 + (r() < 0.2 ? 2 * DAY : 0);
    const base = (ts: number, anonymous: boolean) => {
      n++;
      return {
        messageId: `${prefix}m${n}`,
        timestamp: new Date(ts).toISOString(),
        ...(anonymous ? { anonymousId: anon } : { userId: user }),
      };
    };
    // Accounts: about half the people join one or two of three accounts, at any time (membership is all-time).
    for (const g of ['g1', 'g2', 'g3']) {
      if (r() < 0.25) {
        const at = T - Math.floor(r() * 45 * 86_400) * 1000 + (r() < 0.2 ? 2 * DAY : 0);
        const groupCall = { ...base(at, false), type: 'group', groupId: `${prefix}${g}` };
        messages.push(groupCall);
        events.push({
          personId: user,
          ts: at,
          type: 'group',
          groupId: groupCall.groupId,
          messageId: groupCall.messageId,
        });
      }
    }
    const link = { ...base(linkAt, false), type: 'identify', anonymousId: anon, traits: randomTraits(r, T) };
    messages.push(link);
    events.push({
      personId: user,
      ts: linkAt,
      type: 'identify',
      traits: link.traits,
      messageId: link.messageId,
    });
    for (const ts of times) {
      const anonymous = r() < 0.3;
      const kind = r();
      if (kind < 0.65) {
        const m = { ...base(ts, anonymous), type: 'track', event: pick(EVENTS), properties: randomProps(r) };
        messages.push(m);
        events.push({
          personId: user,
          ts,
          type: 'track',
          event: m.event,
          properties: m.properties,
          messageId: m.messageId,
        });
      } else if (kind < 0.85) {
        const m = { ...base(ts, anonymous), type: 'page', name: pick(PAGES), properties: randomProps(r) };
        messages.push(m);
        events.push({
          personId: user,
          ts,
          type: 'page',
          name: m.name,
          properties: m.properties,
          messageId: m.messageId,
        });
      } else {
        const m = { ...base(ts, false), type: 'identify', traits: randomTraits(r, T) };
        messages.push(m);
        events.push({ personId: user, ts, type: 'identify', traits: m.traits, messageId: m.messageId });
      }
    }
  }
  return { messages, events, asOf: new Date(T) };
}

function durationEdge(d: string): number {
  const n = Number(d.slice(0, -1));
  const unit = d.slice(-1);
  return n * (unit === 'h' ? 3_600_000 : unit === 'd' ? DAY : 7 * DAY);
}

function randomProps(r: () => number): Record<string, unknown> {
  const props: Record<string, unknown> = {};
  if (r() < 0.7) props.plan = WORDS[Math.floor(r() * WORDS.length)];
  if (r() < 0.7) props.n = Math.floor(r() * 6);
  if (r() < 0.3) props.tag = r() < 0.5 ? 'x' : null;
  if (r() < 0.2) props.n = String(Math.floor(r() * 6)); // numeric text compares as a number
  return props;
}

function randomTraits(r: () => number, T: number): Record<string, unknown> {
  const traits: Record<string, unknown> = {};
  if (r() < 0.7) traits.plan = WORDS[Math.floor(r() * 2)];
  if (r() < 0.5) traits.seats = Math.floor(r() * 20);
  if (r() < 0.4) traits.since = r() < 0.85 ? new Date(T - Math.floor(r() * 60) * DAY).toISOString() : 'n/a';
  if (r() < 0.1) traits.plan = null;
  return traits;
}

/** Random definitions; `inSegment` refers only to earlier ones, so there are no cycles. */
export function randomDefinitions(r: () => number, count: number, prefix: string): SegmentDefinition[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const defs: SegmentDefinition[] = [];
  const match = (): EventMatch => {
    const m: EventMatch = r() < 0.75 ? { event: pick(EVENTS) } : { page: pick(PAGES) };
    if (r() < 0.35) {
      const filters = [
        { property: 'plan', equals: pick(WORDS) },
        { property: 'n', gte: Math.floor(r() * 5) },
        { property: 'n', equals: Math.floor(r() * 5) },
        { property: 'tag', exists: r() < 0.5 },
        { property: 'plan', in: [pick(WORDS), pick(WORDS)] },
        { property: 'plan', notEquals: 'pro' },
        { property: 'plan', contains: 'r' },
      ];
      m.where = [pick(filters)];
    }
    return m;
  };
  const window = () => (r() < 0.6 ? { within: pick(DURATIONS) } : {});
  const leaf = (allowAccount = true): Condition => {
    // Inside an account condition: no account or segment references (account conditions do not nest).
    const k = allowAccount ? Math.floor(r() * 15) : Math.floor(r() * 12);
    switch (k) {
      case 0:
      case 1: {
        const counts = [
          {},
          { atLeast: 1 + Math.floor(r() * 3) },
          { atMost: Math.floor(r() * 3) },
          { exactly: Math.floor(r() * 3) },
        ];
        return { performed: { ...match(), ...window(), ...pick(counts) } };
      }
      case 2:
        return { notPerformed: { ...match(), ...window() } };
      case 3:
        return {
          firstPerformed: {
            ...match(),
            ...(r() < 0.5 ? { within: pick(DURATIONS) } : { before: pick(DURATIONS) }),
          },
        };
      case 4:
        return r() < 0.5
          ? {
              lastPerformed: {
                ...match(),
                ...(r() < 0.5 ? { within: pick(DURATIONS) } : { before: pick(DURATIONS) }),
              },
            }
          : { lastPerformed: { ...match(), property: 'plan', equals: pick(WORDS) } };
      case 5: {
        const steps = Array.from({ length: 1 + Math.floor(r() * 3) }, match);
        return {
          sequence: {
            steps,
            ...(r() < 0.5 ? { maxGap: pick(DURATIONS) } : {}),
            ...(r() < 0.4 ? { within: pick(DURATIONS) } : {}),
            ...(r() < 0.3 ? { lookback: pick(['7d', '14d', '30d']) } : {}),
            ...(r() < 0.4 ? { thenNot: { ...match(), within: pick(['1h', '1d', '2d']) } } : {}),
          },
        };
      }
      case 6:
        return { startedDoing: { ...match(), within: pick(DURATIONS) } };
      case 7:
        return { stoppedDoing: { ...match(), within: pick(['7d', '14d', '1w']) } };
      case 8:
        return {
          didRegularly: {
            ...match(),
            period: pick(['1d', '7d']),
            periods: 4,
            atLeast: 1 + Math.floor(r() * 3),
          },
        };
      case 9:
        return { restarted: { ...match(), within: pick(['7d', '14d']), inactiveFor: pick(['7d', '14d']) } };
      case 10: {
        const tests = [
          { trait: 'plan', equals: pick(WORDS) },
          { trait: 'plan', exists: r() < 0.5 },
          { trait: 'seats', gt: Math.floor(r() * 15) },
          { trait: 'seats', lte: Math.floor(r() * 15) },
          { trait: 'since', within: pick(['7d', '30d']) },
          { trait: 'since', before: '2026-06-15T00:00:00Z' },
        ];
        return pick(tests) as Condition;
      }
      case 11:
        return { bucket: { seed: pick(['a', 'b']), from: 0, to: pick([0.1, 0.5, 0.9]) } };
      case 12:
        return defs.length > 0
          ? r() < 0.5
            ? { inSegment: pick(defs).name }
            : { notInSegment: pick(defs).name }
          : leaf();
      case 14:
        return r() < 0.5 ? { account: { any: leaf(false) } } : { account: { all: leaf(false) } };
      default:
        return { performed: { ...match(), from: '2026-06-10T00:00:00Z', to: '2026-07-01T00:00:00Z' } };
    }
  };
  const tree = (depth: number): Condition => {
    if (depth === 0 || r() < 0.45) return leaf();
    const k = r();
    if (k < 0.4) return { and: [tree(depth - 1), tree(depth - 1)] };
    if (k < 0.8) return { or: [tree(depth - 1), tree(depth - 1)] };
    return { not: tree(depth - 1) };
  };
  for (let i = 0; i < count; i++) defs.push({ name: `${prefix}${i}`, active: true, where: tree(3) });
  return defs;
}
