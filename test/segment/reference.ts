import { createHash } from 'node:crypto';
import { parseInstant } from '../../src/config/instant.js';
import {
  type Condition,
  durationMs,
  type EventMatch,
  type LastPerformed,
  type SegmentDefinition,
  type Sequence,
  type ValueTest,
} from '../../src/segment/definition.js';

/**
 * The reference evaluator: segment definitions evaluated over an in-memory list of events, written directly from
 * the documented semantics (docs/segments.md) and independently of the SQL compiler. Tests compare the two on
 * random definitions and event logs. Not for production: it holds every event in memory.
 *
 * Values are compared the way the engine stores them: a property or trait value is its text (numbers as JSON writes
 * them, true/false), absent when missing or JSON null; numeric tests read numeric texts as numbers.
 */
export interface ReferenceEvent {
  personId: string;
  /** Event time, ms since the epoch (UTC). */
  ts: number;
  type: string;
  event?: string | null;
  name?: string | null;
  properties?: Record<string, unknown> | null;
  traits?: Record<string, unknown> | null;
  /** group calls: the account. */
  groupId?: string;
  messageId: string;
}

const NUMERIC = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;
const ISO = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

function at(obj: Record<string, unknown> | null | undefined, key: string): unknown {
  let v: unknown = obj ?? undefined;
  for (const part of key.split('.')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = Object.hasOwn(v, part) ? (v as Record<string, unknown>)[part] : undefined;
  }
  return v;
}

/** The text of a JSON value as the engine extracts it; null when absent or JSON null. */
function text(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function toNumber(t: string | null): number | null {
  return t !== null && NUMERIC.test(t) ? Number(t) : null;
}

export function testValue(t: string | null, test: Partial<ValueTest>): boolean {
  const eq = (x: string | number | boolean) => (typeof x === 'number' ? toNumber(t) === x : t === String(x));
  if (test.equals !== undefined) return eq(test.equals);
  if (test.notEquals !== undefined) return !eq(test.notEquals);
  if (test.in !== undefined) return test.in.some(eq);
  if (test.contains !== undefined) return t?.includes(test.contains) ?? false;
  if (test.exists !== undefined) return test.exists ? t !== null : t === null;
  const n = toNumber(t);
  if (n === null) return false;
  if (test.gt !== undefined) return n > test.gt;
  if (test.gte !== undefined) return n >= test.gte;
  if (test.lt !== undefined) return n < test.lt;
  if (test.lte !== undefined) return n <= test.lte;
  throw new Error('value test without a test');
}

function matches(m: EventMatch, e: ReferenceEvent): boolean {
  if (m.event !== undefined ? e.type !== 'track' || e.event !== m.event : false) return false;
  if (m.page !== undefined ? e.type !== 'page' || e.name !== m.page : false) return false;
  if (m.screen !== undefined ? e.type !== 'screen' || e.name !== m.screen : false) return false;
  return (m.where ?? []).every((f) => testValue(text(at(e.properties, f.property)), f));
}

/** Latest by (time, messageId), as the engine breaks ties. */
function later(a: ReferenceEvent, b: ReferenceEvent): boolean {
  return a.ts !== b.ts ? a.ts > b.ts : a.messageId > b.messageId;
}

export function unitHash(textValue: string): number {
  return (
    Number.parseInt(createHash('md5').update(textValue, 'utf8').digest('hex').slice(0, 8), 16) / 4294967296
  );
}

interface Accounts {
  /** group id → people who sent a group call for it (at any time). */
  members: Map<string, Set<string>>;
  byPerson: Map<string, Set<string>>;
  /** Everyone with an event at or before T. */
  people: Map<string, Person>;
}

class Person {
  constructor(
    readonly id: string,
    /** This person's events at or before T, in time order. */
    readonly events: ReferenceEvent[],
    readonly asOf: number,
    readonly accounts: Accounts,
  ) {}

  count(m: EventMatch, from: number, to: number, inclusiveFrom = false): number {
    // Events with from < ts ≤ to (or from ≤ ts when inclusiveFrom).
    return this.events.filter(
      (e) => (inclusiveFrom ? e.ts >= from : e.ts > from) && e.ts <= to && matches(m, e),
    ).length;
  }
}

export function evaluateSegmentsReference(
  definitions: readonly SegmentDefinition[],
  events: readonly ReferenceEvent[],
  asOf: Date,
): Map<string, Set<string>> {
  const T = asOf.getTime();
  const byPerson = new Map<string, ReferenceEvent[]>();
  for (const e of events) {
    if (e.ts > T) continue;
    const list = byPerson.get(e.personId);
    if (list) list.push(e);
    else byPerson.set(e.personId, [e]);
  }
  const byName = new Map(definitions.map((d) => [d.name, d]));
  const result = new Map<string, Set<string>>(definitions.map((d) => [d.name, new Set<string>()]));
  const accounts: Accounts = { members: new Map(), byPerson: new Map(), people: new Map() };
  for (const e of events) {
    if (e.type !== 'group' || !e.groupId) continue;
    if (!accounts.members.has(e.groupId)) accounts.members.set(e.groupId, new Set());
    accounts.members.get(e.groupId)!.add(e.personId);
    if (!accounts.byPerson.has(e.personId)) accounts.byPerson.set(e.personId, new Set());
    accounts.byPerson.get(e.personId)!.add(e.groupId);
  }
  for (const [id, list] of byPerson) {
    list.sort((a, b) => a.ts - b.ts);
    accounts.people.set(id, new Person(id, list, T, accounts));
  }
  for (const [id, p] of accounts.people) {
    for (const def of definitions) if (holds(def.where, p, byName)) result.get(def.name)!.add(id);
  }
  return result;
}

function holds(c: Condition, p: Person, byName: Map<string, SegmentDefinition>): boolean {
  const T = p.asOf;
  if ('and' in c) return c.and.every((x) => holds(x, p, byName));
  if ('or' in c) return c.or.some((x) => holds(x, p, byName));
  if ('not' in c) return !holds(c.not, p, byName);
  if ('performed' in c || 'notPerformed' in c) {
    const spec = 'performed' in c ? c.performed : c.notPerformed;
    const n = p.events.filter(
      (e) =>
        (spec.within === undefined || e.ts > T - durationMs(spec.within)) &&
        (spec.from === undefined || e.ts >= parseInstant(spec.from)!.getTime()) &&
        (spec.to === undefined || e.ts < parseInstant(spec.to)!.getTime()) &&
        matches(spec, e),
    ).length;
    if ('notPerformed' in c) return n === 0;
    const perf = c.performed;
    if (perf.exactly !== undefined) return n === perf.exactly;
    if (perf.atMost !== undefined) return n <= perf.atMost;
    return n >= (perf.atLeast ?? 1);
  }
  if ('firstPerformed' in c || 'lastPerformed' in c) {
    const spec: LastPerformed = 'firstPerformed' in c ? c.firstPerformed : c.lastPerformed;
    const found = p.events.filter((e) => matches(spec, e));
    if (found.length === 0) return false;
    let pick = found[0]!;
    if ('firstPerformed' in c) {
      for (const e of found) if (e.ts < pick.ts) pick = e;
    } else {
      for (const e of found) if (later(e, pick)) pick = e;
    }
    if (spec.within !== undefined && !(pick.ts > T - durationMs(spec.within))) return false;
    if (spec.before !== undefined && !(pick.ts <= T - durationMs(spec.before))) return false;
    if ('lastPerformed' in c && spec.property !== undefined) {
      return testValue(text(at(pick.properties, spec.property)), spec);
    }
    return true;
  }
  if ('startedDoing' in c) {
    const first = p.events.find((e) => matches(c.startedDoing, e));
    return first !== undefined && first.ts > T - durationMs(c.startedDoing.within);
  }
  if ('stoppedDoing' in c) {
    const w = durationMs(c.stoppedDoing.within);
    return p.count(c.stoppedDoing, T - 2 * w, T - w) > 0 && p.count(c.stoppedDoing, T - w, T) === 0;
  }
  if ('restarted' in c) {
    const w = durationMs(c.restarted.within);
    const gap = durationMs(c.restarted.inactiveFor);
    return (
      p.count(c.restarted, T - w, T) > 0 &&
      p.count(c.restarted, T - w - gap, T - w) === 0 &&
      p.count(c.restarted, Number.NEGATIVE_INFINITY, T - w - gap) > 0
    );
  }
  if ('didRegularly' in c) {
    const r = c.didRegularly;
    const period = durationMs(r.period);
    const seen = new Set<number>();
    for (const e of p.events) {
      if (e.ts > T - period * r.periods && matches(r, e)) seen.add(Math.floor((T - e.ts) / period));
    }
    return seen.size >= r.atLeast;
  }
  if ('sequence' in c) return sequenceHolds(c.sequence, p);
  if ('trait' in c) {
    let latest: ReferenceEvent | undefined;
    for (const e of p.events) {
      if (e.type === 'identify' && at(e.traits, c.trait) !== undefined && (!latest || later(e, latest)))
        latest = e;
    }
    const value = latest ? text(at(latest.traits, c.trait)) : null;
    if (c.before !== undefined || c.after !== undefined || c.within !== undefined) {
      if (value === null || !ISO.test(value)) return false;
      const d = Date.parse(value);
      if (Number.isNaN(d)) return false;
      if (c.before !== undefined) return d < Date.parse(c.before);
      if (c.after !== undefined) return d > Date.parse(c.after);
      return d > T - durationMs(c.within!) && d <= T;
    }
    return testValue(value, c);
  }
  if ('feature' in c) throw new Error('the reference evaluator does not evaluate feature conditions');
  if ('inSegment' in c) return holds(byName.get(c.inSegment)!.where, p, byName);
  if ('notInSegment' in c) return !holds(byName.get(c.notInSegment)!.where, p, byName);
  if ('bucket' in c) {
    const h = unitHash(`${c.bucket.seed}:${p.id}`);
    return h >= c.bucket.from && h < c.bucket.to;
  }
  if ('account' in c) {
    const spec = c.account;
    const inner = 'any' in spec ? spec.any : spec.all;
    const groups = [...(p.accounts.byPerson.get(p.id) ?? [])];
    const holdsFor = (id: string) => {
      const member = p.accounts.people.get(id);
      return member !== undefined && holds(inner, member, byName);
    };
    // Members are the account's people with an event at or before T.
    const active = (g: string) =>
      [...(p.accounts.members.get(g) ?? [])].filter((id) => p.accounts.people.has(id));
    return 'any' in spec
      ? groups.some((g) => active(g).some(holdsFor))
      : groups.some((g) => active(g).every(holdsFor));
  }
  const never: never = c;
  throw new Error(`unknown condition ${JSON.stringify(never)}`);
}

/** Each step is the first matching event strictly after the previous step; any start may complete the chain. */
function sequenceHolds(s: Sequence, p: Person): boolean {
  const T = p.asOf;
  const starts = p.events.filter(
    (e) => matches(s.steps[0]!, e) && (s.lookback === undefined || e.ts > T - durationMs(s.lookback)),
  );
  for (const start of starts) {
    let t = start.ts;
    let ok = true;
    for (const step of s.steps.slice(1)) {
      const next = p.events.find((e) => e.ts > t && matches(step, e));
      if (!next || (s.maxGap !== undefined && next.ts > t + durationMs(s.maxGap))) {
        ok = false;
        break;
      }
      t = next.ts;
    }
    if (!ok) continue;
    if (s.within !== undefined && t > start.ts + durationMs(s.within)) continue;
    if (s.thenNot) {
      const w = durationMs(s.thenNot.within);
      if (t + w > T) continue;
      const spec = s.thenNot;
      if (p.events.some((e) => e.ts > t && e.ts <= t + w && matches(spec, e))) continue;
    }
    return true;
  }
  return false;
}
