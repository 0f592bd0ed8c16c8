import { parseInstant } from '../config/instant.js';
import type { Dialect } from '../engine/dialect.js';
import { Params } from '../engine/params.js';
import type { SqlValue } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';
import { type EventKinds, kindTest } from '../instrument/event-kinds.js';
import { scopedPersonEventsSql } from '../instrument/persons-on-events.js';
import {
  type Condition,
  durationMs,
  type EventMatch,
  type LastPerformed,
  type PropertyFilter,
  type SegmentDefinition,
  type ValueTest,
} from './definition.js';
import { eventLookbackMs } from './event-lookback.js';
import { parseFeatureExpression } from './feature-expression.js';
import type { FeatureSource } from './feature-source.js';
import { type EdgeEvent, edgeEventOf, type TimeEdge, TimeEdges } from './time-edges.js';

export type { FeatureColumn, FeatureSource } from './feature-source.js';

/**
 * The segment compiler: definitions → one SQL query that evaluates every segment for every person as of a time T.
 *
 * All segments share one pass over the person's events up to T: every event-based leaf (performed N times in a
 * window, first/last performed, started/stopped doing, did regularly, restarted, traits as of T, a property of the last
 * such event) becomes one aggregate column of a single GROUP BY person_id, so twenty segments cost about one scan.
 * Sequences are chains of "next matching event" joins. A segment is then a boolean expression over that row; every
 * leaf is coalesced to a definite TRUE/FALSE, so `not` means what it says for people with no such events.
 * `inSegment` inlines the other segment's expression (so it is evaluated as of the same T); cycles are an error.
 *
 * Every value from a definition is a bound parameter; only segflow's own numbers (window lengths) are inlined.
 */
/**
 * What an evaluation as of T depends on besides the events themselves, so a later evaluation can tell whose
 * memberships may have changed (see `segment/incremental.ts`).
 */
export interface TimeDependence {
  /**
   * Offsets W (ms) such that a condition compares an event's time with T − W (0: the as-of time itself), each with the
   * events it compares (`segment/time-edges.ts`).
   */
  edges: TimeEdge[];
  /** Trait values compared as dates with a window ending at T: the trait's JSON path and the window. */
  traitWindows: { path: string; ms: number }[];
  /** Relations joined by person (features, model scores), each with the columns the segments read from it. */
  relations: { alias: string; columns: string[]; sql(params: Params, asOf: Date): string }[];
  /** Whether some segment has an account condition (a person's membership then depends on other people). */
  accounts: boolean;
}

export interface CompiledSegments {
  sql: string;
  params: SqlValue[];
  /** Output column of each segment, in definition order. */
  columns: { name: string; column: string }[];
  /** The main pass alone (one scan of every event, one GROUP BY), with `params`: the benchmark compares it with a scan. */
  mainPass: string;
  dependence: TimeDependence;
  /**
   * With `stageEvents`: the scratch table to create from `select` (with `params`) before `sql` runs — the scoped
   * people's events, which `sql` reads from it.
   */
  staged?: { name: string; select: string; params: SqlValue[] };
}

const IDENTIFY = `(ev.type = 'identify')`;

const q = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** A JSON path for a dotted key, each part quoted so any key text is safe. */
export function jsonPathOf(key: string): string {
  return `$${key
    .split('.')
    .map((p) => `."${p.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`)
    .join('')}`;
}

class Compiler {
  readonly params = new Params();
  private readonly aggregates: string[] = [];
  private readonly rowColumns = new Map<string, string>();
  /** Row columns that read JSON (properties, traits): computed in the detail pass, only on the events they concern. */
  private readonly detailColumns = new Map<string, string>();
  /** The cheap conditions (event type and name) that select the detail pass's events. */
  private readonly detailGuards = new Set<string>();
  private readonly detailAggregates: string[] = [];
  /** Names of the columns that read JSON: aggregates over them run in the detail pass. */
  private readonly jsonColumns = new Set<string>();
  private readonly matchSql = new Map<string, { sql: string; guard?: string }>();
  private readonly accountConditions: { id: string; inner: string; mode: 'any' | 'all' }[] = [];
  private inAccount = false;
  private readonly aggregateIndex = new Map<string, string>();
  private readonly ctes: string[] = [];
  /** Relations joined to `agg` by person, each with the alias its columns are read through. */
  private readonly joins: { alias: string; sql: string }[] = [];
  private readonly segmentSql = new Map<string, string>();
  private readonly byName: Map<string, SegmentDefinition>;
  private readonly asOfParam: string;
  private featureJoined = false;
  private readonly joinedRelations = new Set<string>();
  private readonly sequenceMatchers = new Map<string, string>();
  private readonly edges = new TimeEdges();
  private readonly traitWindows: { path: string; ms: number }[] = [];
  private readonly relationSql = new Map<string, (params: Params, asOf: Date) => string>();

  constructor(
    private readonly d: Dialect,
    definitions: readonly SegmentDefinition[],
    private readonly asOf: Date,
    private readonly features: FeatureSource | undefined,
    /** A table of person ids: evaluate only those people (an incremental refresh), reading only their events. */
    private readonly scope: string | undefined,
    /** With a scope and account conditions: the people whose events are read (the scope and its account peers). */
    private readonly context: string | undefined,
    /** Where everyone's events are read from when there is no scope. */
    private readonly eventsSource = 'person_events',
    /** The stored event kinds: track events are then matched by their kind (an integer) instead of their name. */
    private readonly kinds?: EventKinds,
    /** With a scope: the scratch table the scoped people's events are staged in (`CompiledSegments.staged`). */
    private readonly stagedEvents?: string,
    /** Read only recent events when the segments allow it (see compileSegments' option). */
    private readonly recentEventsOnly = false,
  ) {
    this.byName = new Map(definitions.map((s) => [s.name, s]));
    this.asOfParam = this.params.add(asOf);
    // A future-dated event (of any kind) becomes past: W = 0.
    this.edges.add(0, null);
  }

  /** A timestamp W before T, as a bound parameter; `event`: the events compared with it (null: any). */
  private ago(ms: number, event: EdgeEvent | null): string {
    this.edges.add(ms, event);
    return this.params.add(new Date(this.asOf.getTime() - ms));
  }

  /**
   * An aggregate over the person's events. Aggregates over detail columns (or needing the message id as a tie-break)
   * run in the detail pass (`dagg`), where people without such events have no row: their counts read as 0.
   */
  private aggregate(expr: string): string {
    const existing = this.aggregateIndex.get(expr);
    if (existing) return existing;
    const name = `a${this.aggregates.length + this.detailAggregates.length}`;
    const reads = (column: string) => new RegExp(`\\bev\\.${column}\\b`).test(expr);
    const detail = expr.includes('ev.message_id') || [...this.jsonColumns].some(reads);
    let ref: string;
    if (detail) {
      // Main-pass columns the aggregate also reads (an event-name match as its filter) join the detail pass too.
      for (const [sql, column] of this.rowColumns) {
        if (reads(column) && !this.detailColumns.has(sql)) {
          this.detailColumns.set(sql, column);
          this.detailGuards.add(sql);
        }
      }
      this.detailAggregates.push(`${expr} AS ${name}`);
      ref = expr.startsWith('count(') ? `coalesce(dagg.${name}, 0)` : `dagg.${name}`;
    } else {
      this.aggregates.push(`${expr} AS ${name}`);
      ref = `agg.${name}`;
    }
    this.aggregateIndex.set(expr, ref);
    return ref;
  }

  private text(value: SqlValue): string {
    return this.params.add(value);
  }

  /**
   * SQL for "this event matches", with property filters evaluated only on events of the right name (a CASE, so the
   * engine parses JSON properties only for those).
   */
  private matchCondition(m: EventMatch): string {
    return this.matcher(m).sql;
  }

  /** The matcher's SQL and, when it filters on properties, its guard: the event-name test alone. */
  private matcher(m: EventMatch): { sql: string; guard?: string } {
    // Memoised on what selects the events (not the window or count beside it in the condition), so the same matcher
    // is one column of the events pass however often it is used.
    const key = JSON.stringify([m.event, m.page, m.screen, m.where]);
    const known = this.matchSql.get(key);
    if (known) return known;
    let base: string;
    if (m.event !== undefined)
      base = this.kinds
        ? kindTest('ev.event_kind', this.kinds.ofEvents([m.event]))
        : `ev.type = 'track' AND ev.event = ${this.text(m.event)}`;
    else if (m.page !== undefined) base = `ev.type = 'page' AND ev.name = ${this.text(m.page)}`;
    else base = `ev.type = 'screen' AND ev.name = ${this.text(m.screen!)}`;
    const filters = (m.where ?? []).map((f) => `(${this.propertyFilter(f, 'ev.properties')})`);
    const built = filters.length
      ? { sql: `CASE WHEN ${base} THEN ${filters.join(' AND ')} ELSE FALSE END`, guard: `(${base})` }
      : { sql: `(${base})` };
    this.matchSql.set(key, built);
    return built;
  }

  /**
   * A per-event column computed once and read by aggregates as `ev.<name>`. Columns of the main pass (`evf`) read
   * only an event's type, name and time; a column that reads JSON names its `guard`, the cheap test of the events it
   * concerns, and is computed in the detail pass over just those events — so the main pass never reads the JSON
   * columns of millions of events.
   */
  private rowColumn(sql: string, prefix: 'm' | 'v', guard?: string): string {
    const columns = guard ? this.detailColumns : this.rowColumns;
    const existing = columns.get(sql);
    if (existing) return `ev.${existing}`;
    const name = `${prefix}${this.rowColumns.size + this.jsonColumns.size}`;
    columns.set(sql, name);
    if (guard) {
      this.detailGuards.add(guard);
      this.jsonColumns.add(name);
    }
    return `ev.${name}`;
  }

  /** "This event matches", as a boolean column of the events pass. */
  private match(m: EventMatch): string {
    const { sql, guard } = this.matcher(m);
    return this.rowColumn(sql, 'm', guard);
  }

  private propertyFilter(f: PropertyFilter, json: string): string {
    const value = this.d.jsonText(json, this.text(jsonPathOf(f.property)));
    return this.valueTest(value, f);
  }

  /** A definite boolean for a value test on a text value (NULL = absent). */
  valueTest(value: string, t: Partial<ValueTest>): string {
    const d = this.d;
    const eq = (x: string | number | boolean) =>
      typeof x === 'number'
        ? `coalesce(${d.toDouble(value)} = ${this.text(x)}, FALSE)`
        : `coalesce(${value} = ${this.text(String(x))}, FALSE)`;
    if (t.equals !== undefined) return eq(t.equals);
    if (t.notEquals !== undefined) return `NOT ${eq(t.notEquals)}`;
    if (t.in !== undefined) return `(${t.in.map(eq).join(' OR ')})`;
    if (t.contains !== undefined) return `coalesce(${d.textContains(value, this.text(t.contains))}, FALSE)`;
    if (t.exists !== undefined) return t.exists ? `(${value} IS NOT NULL)` : `(${value} IS NULL)`;
    const cmp = (op: string, x: number) => `coalesce(${d.toDouble(value)} ${op} ${this.text(x)}, FALSE)`;
    if (t.gt !== undefined) return cmp('>', t.gt);
    if (t.gte !== undefined) return cmp('>=', t.gte);
    if (t.lt !== undefined) return cmp('<', t.lt);
    if (t.lte !== undefined) return cmp('<=', t.lte);
    throw new Error('value test without a test');
  }

  private windowFilter(w: EventMatch & { within?: string; from?: string; to?: string }): string {
    const parts: string[] = [];
    if (w.within !== undefined) parts.push(`ev.ts > ${this.ago(durationMs(w.within), edgeEventOf(w))}`);
    if (w.from !== undefined) parts.push(`ev.ts >= ${this.params.add(parseInstant(w.from)!)}`);
    if (w.to !== undefined) parts.push(`ev.ts < ${this.params.add(parseInstant(w.to)!)}`);
    return parts.length ? ` AND ${parts.join(' AND ')}` : '';
  }

  private countOf(m: EventMatch, window: string): string {
    return this.aggregate(this.d.aggregateIf('count(*)', `${this.match(m)}${window}`));
  }

  private countBetween(m: EventMatch, afterMs: number, untilMs: number): string {
    // Events with T − afterMs < ts ≤ T − untilMs.
    return this.aggregate(
      this.d.aggregateIf(
        'count(*)',
        `${this.match(m)} AND ev.ts > ${this.ago(afterMs, edgeEventOf(m))} AND ev.ts <= ${this.ago(untilMs, edgeEventOf(m))}`,
      ),
    );
  }

  condition(c: Condition, stack: readonly string[]): string {
    if ('and' in c) return `(${c.and.map((x) => this.condition(x, stack)).join(' AND ')})`;
    if ('or' in c) return `(${c.or.map((x) => this.condition(x, stack)).join(' OR ')})`;
    if ('not' in c) return `(NOT ${this.condition(c.not, stack)})`;
    if ('performed' in c) {
      const p = c.performed;
      const n = this.countOf(p, this.windowFilter(p));
      if (p.exactly !== undefined) return `(${n} = ${this.text(p.exactly)})`;
      if (p.atMost !== undefined) return `(${n} <= ${this.text(p.atMost)})`;
      return `(${n} >= ${this.text(p.atLeast ?? 1)})`;
    }
    if ('notPerformed' in c)
      return `(${this.countOf(c.notPerformed, this.windowFilter(c.notPerformed))} = 0)`;
    if ('firstPerformed' in c || 'lastPerformed' in c) return this.firstLast(c);
    if ('startedDoing' in c) {
      const first = this.aggregate(this.d.aggregateIf('min(ev.ts)', this.match(c.startedDoing)));
      return `coalesce(${first} > ${this.ago(durationMs(c.startedDoing.within), edgeEventOf(c.startedDoing))}, FALSE)`;
    }
    if ('stoppedDoing' in c) {
      const w = durationMs(c.stoppedDoing.within);
      return `(${this.countBetween(c.stoppedDoing, 2 * w, w)} > 0 AND ${this.countBetween(c.stoppedDoing, w, 0)} = 0)`;
    }
    if ('restarted' in c) {
      const w = durationMs(c.restarted.within);
      const gap = durationMs(c.restarted.inactiveFor);
      const before = this.aggregate(
        this.d.aggregateIf(
          'count(*)',
          `${this.match(c.restarted)} AND ev.ts <= ${this.ago(w + gap, edgeEventOf(c.restarted))}`,
        ),
      );
      return `(${this.countBetween(c.restarted, w, 0)} > 0 AND ${this.countBetween(c.restarted, w + gap, w)} = 0 AND ${before} > 0)`;
    }
    if ('didRegularly' in c) {
      const r = c.didRegularly;
      const period = durationMs(r.period);
      // An event moves to the next period when T − k·P passes it.
      for (let k = 1; k < r.periods; k++) this.edges.add(k * period, edgeEventOf(r));
      const periods = this.aggregate(
        this.d.aggregateIf(
          `count(DISTINCT floor((${this.d.epochMs(this.asOfParam)} - ${this.d.epochMs('ev.ts')}) / ${period}))`,
          `${this.match(r)} AND ev.ts > ${this.ago(period * r.periods, edgeEventOf(r))}`,
        ),
      );
      return `(${periods} >= ${this.text(r.atLeast)})`;
    }
    if ('sequence' in c) return this.sequence(c.sequence);
    if ('trait' in c) return this.trait(c);
    if ('feature' in c) return this.feature(c);
    if ('inSegment' in c) return this.segmentRef(c.inSegment, stack);
    if ('notInSegment' in c) return `(NOT ${this.segmentRef(c.notInSegment, stack)})`;
    if ('bucket' in c) {
      const h = this.d.unitHash(`${this.text(c.bucket.seed)} || ':' || agg.person_id`);
      return `(${h} >= ${this.text(c.bucket.from)} AND ${h} < ${this.text(c.bucket.to)})`;
    }
    if ('account' in c) return this.account(c.account, stack);
    const never: never = c;
    throw new Error(`unknown condition ${JSON.stringify(never)}`);
  }

  /**
   * Account conditions: the inner condition is evaluated for every person as of T; a person matches `any` when some
   * member of one of their accounts meets it, `all` when every member of one of their accounts does. Members are the
   * account's people with an event at or before T.
   */
  private account(spec: { any: Condition } | { all: Condition }, stack: readonly string[]): string {
    if (this.inAccount) {
      throw new SegflowError(
        'SEGMENT_INVALID',
        'account conditions cannot be nested inside account conditions',
        'put the inner account condition next to the outer one with and / or',
      );
    }
    this.inAccount = true;
    try {
      const mode = 'any' in spec ? 'any' : 'all';
      const inner = this.condition('any' in spec ? spec.any : spec.all, stack);
      const id = `acc${this.accountConditions.length}`;
      this.accountConditions.push({ id, inner, mode });
      return `coalesce(${id}.hit, FALSE)`;
    } finally {
      this.inAccount = false;
    }
  }

  private firstLast(c: Extract<Condition, { firstPerformed: unknown } | { lastPerformed: unknown }>): string {
    const first = 'firstPerformed' in c;
    const spec: LastPerformed = first ? c.firstPerformed : c.lastPerformed;
    const at = this.aggregate(this.d.aggregateIf(`${first ? 'min' : 'max'}(ev.ts)`, this.match(spec)));
    const parts: string[] = [`(${at} IS NOT NULL)`];
    if (spec.within !== undefined)
      parts.push(`coalesce(${at} > ${this.ago(durationMs(spec.within), edgeEventOf(spec))}, FALSE)`);
    if (spec.before !== undefined)
      parts.push(`coalesce(${at} <= ${this.ago(durationMs(spec.before), edgeEventOf(spec))}, FALSE)`);
    if (!first && spec.property !== undefined) {
      const m = this.matcher(spec);
      const value = this.aggregate(
        this.d.latestValue(
          this.rowColumn(
            `CASE WHEN ${m.sql} THEN ${this.d.jsonText('ev.properties', this.text(jsonPathOf(spec.property)))} END`,
            'v',
            m.guard ?? m.sql,
          ),
          'ev.ts',
          'ev.message_id',
          this.match(spec),
        ),
      );
      parts.push(this.valueTest(value, spec));
    }
    return `(${parts.join(' AND ')})`;
  }

  private trait(c: Extract<Condition, { trait: string }>): string {
    const path = this.text(jsonPathOf(c.trait));
    // The trait as of T: the latest identify (by time, then messageId) whose traits have the key.
    const value = this.aggregate(
      this.d.latestValue(
        this.rowColumn(
          `CASE WHEN ev.type = 'identify' THEN ${this.d.jsonText('ev.traits', path)} END`,
          'v',
          IDENTIFY,
        ),
        'ev.ts',
        'ev.message_id',
        this.rowColumn(
          `CASE WHEN ev.type = 'identify' THEN ${this.d.jsonValue('ev.traits', path)} IS NOT NULL ELSE FALSE END`,
          'm',
          IDENTIFY,
        ),
      ),
    );
    const asDate = this.d.parseTimestamp(value);
    if (c.before !== undefined) return `coalesce(${asDate} < ${this.params.add(new Date(c.before))}, FALSE)`;
    if (c.after !== undefined) return `coalesce(${asDate} > ${this.params.add(new Date(c.after))}, FALSE)`;
    if (c.within !== undefined) {
      this.traitWindows.push({ path: jsonPathOf(c.trait), ms: durationMs(c.within) });
      // The trait's own edges are `traitWindows`; the identify calls that carry it are recorded as an edge too.
      return `coalesce(${asDate} > ${this.ago(durationMs(c.within), { type: 'identify' })} AND ${asDate} <= ${this.asOfParam}, FALSE)`;
    }
    return this.valueTest(value, c);
  }

  private feature(c: Extract<Condition, { feature: string }>): string {
    if (!this.features) {
      throw new SegflowError(
        'SEGMENT_INVALID',
        `feature '${c.feature}' cannot be used: no features are available`,
        'run `segflow refresh` to compute features first',
      );
    }
    const source = this.features;
    if (!this.featureJoined) {
      this.joins.push({
        alias: 'f',
        sql: `LEFT JOIN (${source.relation(this.params, this.asOf)}) f ON f.person_id = agg.person_id`,
      });
      this.relationSql.set('f', (params, asOf) => source.relation(params, asOf));
      this.featureJoined = true;
    }
    const expr = parseFeatureExpression(
      c.feature,
      (name) => {
        const column = source.column(name);
        if (column?.relation && !this.joinedRelations.has(column.relation.alias)) {
          this.joinedRelations.add(column.relation.alias);
          const { alias } = column.relation;
          this.joins.push({
            alias,
            sql: `LEFT JOIN (${column.relation.sql(this.params, this.asOf)}) ${alias} ON ${alias}.person_id = agg.person_id`,
          });
          this.relationSql.set(alias, column.relation.sql);
        }
        return column;
      },
      source.names(),
    );
    if (c.between !== undefined) {
      return `coalesce(${expr.sql} BETWEEN ${this.text(c.between[0])} AND ${this.text(c.between[1])}, FALSE)`;
    }
    if (expr.kind === 'number' && c.exists === undefined) {
      const cmp = (op: string, x: number) => `coalesce(${expr.sql} ${op} ${this.text(x)}, FALSE)`;
      if (typeof c.equals === 'number') return cmp('=', c.equals);
      if (typeof c.notEquals === 'number') return `NOT ${cmp('=', c.notEquals)}`;
      if (c.in?.every((x) => typeof x === 'number')) {
        return `(${(c.in as number[]).map((x) => cmp('=', x)).join(' OR ')})`;
      }
    }
    return this.valueTest(`CAST(${expr.sql} AS VARCHAR)`, c);
  }

  private segmentRef(name: string, stack: readonly string[]): string {
    if (stack.includes(name)) {
      const cycle = [...stack.slice(stack.indexOf(name)), name];
      throw new SegflowError(
        'SEGMENT_INVALID',
        `segments refer to each other in a cycle: ${cycle.join(' → ')}`,
        'break the cycle: a segment cannot (directly or through others) be defined by itself',
      );
    }
    const def = this.byName.get(name);
    if (!def) {
      throw new SegflowError(
        'SEGMENT_INVALID',
        `segment '${stack[stack.length - 1]}' refers to segment '${name}', which does not exist`,
        `define '${name}', or use one of: ${[...this.byName.keys()].join(', ') || '(none)'}`,
      );
    }
    return this.segment(def, stack);
  }

  segment(def: SegmentDefinition, stack: readonly string[] = []): string {
    const known = this.segmentSql.get(def.name);
    if (known) return known;
    const sql = this.condition(def.where, [...stack, def.name]);
    this.segmentSql.set(def.name, sql);
    return sql;
  }

  private sequence(s: Extract<Condition, { sequence: unknown }>['sequence']): string {
    const d = this.d;
    const id = `sq${this.ctes.length}`;
    const step = (i: number) => `${id}_${i}`;
    const lookback =
      s.lookback !== undefined
        ? ` AND ev.ts > ${this.ago(durationMs(s.lookback), edgeEventOf(s.steps[0]!))}`
        : '';
    this.ctes.push(
      `${step(0)} AS (SELECT ev.person_id, ev.ts AS t0, ev.ts AS t FROM ${this.sequenceEvents(s.steps[0]!)}${lookback.replace(' AND ', ' WHERE ')})`,
    );
    for (let i = 1; i < s.steps.length; i++) {
      const right = `(SELECT ev.person_id, ev.ts FROM ${this.sequenceEvents(s.steps[i]!)}) nx`;
      const gap = s.maxGap !== undefined ? ` WHERE nx.ts <= ${d.plusMs('prev.t', durationMs(s.maxGap))}` : '';
      this.ctes.push(
        `${step(i)} AS (SELECT prev.person_id, prev.t0, nx.ts AS t FROM ${d.nextRowJoin({
          left: `${step(i - 1)} prev`,
          right,
          on: 'nx.person_id = prev.person_id',
          leftTime: 'prev.t',
          rightTime: 'nx.ts',
          outer: false,
        })}${gap})`,
      );
    }
    const last = step(s.steps.length - 1);
    const conditions: string[] = [];
    if (s.within !== undefined) conditions.push(`done.t <= ${d.plusMs('done.t0', durationMs(s.within))}`);
    let from = `${last} done`;
    if (s.thenNot) {
      const w = durationMs(s.thenNot.within);
      // The wait ends W after the last step's event.
      this.edges.add(w, edgeEventOf(s.steps[s.steps.length - 1]!));
      // Abandonment can only be known once the wait is over, and then only if nothing came within it.
      from = d.nextRowJoin({
        left: `${last} done`,
        right: `(SELECT ev.person_id, ev.ts FROM ${this.sequenceEvents(s.thenNot)}) nx`,
        on: 'nx.person_id = done.person_id',
        leftTime: 'done.t',
        rightTime: 'nx.ts',
        outer: true,
      });
      conditions.push(`${d.plusMs('done.t', w)} <= ${this.asOfParam}`);
      conditions.push(`(nx.ts IS NULL OR nx.ts > ${d.plusMs('done.t', w)})`);
    }
    this.ctes.push(
      `${id} AS (SELECT DISTINCT done.person_id FROM ${from}${conditions.length ? ` WHERE ${conditions.join(' AND ')}` : ''})`,
    );
    this.joins.push({ alias: id, sql: `LEFT JOIN ${id} ON ${id}.person_id = agg.person_id` });
    return `(${id}.person_id IS NOT NULL)`;
  }

  /**
   * The events of one sequence step, from `detail_events`: every sequence matcher's events are read in one pass through
   * the identity map (materialised once), not once per step.
   */
  private sequenceEvents(m: EventMatch): string {
    const sql = this.matchCondition(m);
    let column = this.sequenceMatchers.get(sql);
    if (!column) {
      column = `q${this.sequenceMatchers.size}`;
      this.sequenceMatchers.set(sql, column);
    }
    return `(SELECT person_id, ts FROM detail_events WHERE ${column}) ev`;
  }

  /** Where events come from: everyone's, or (with a scope) only the scoped people's, through their identifiers. */
  private get events(): string {
    return this.scope ? (this.stagedEvents ?? 'scoped_events') : this.eventsSource;
  }

  private dependence(segmentSql: readonly string[]): TimeDependence {
    const exprs = [...segmentSql, ...this.accountConditions.map((a) => a.inner)].join('\n');
    const relations = [...this.relationSql].map(([alias, sql]) => ({
      alias,
      columns: [
        ...new Set([...exprs.matchAll(new RegExp(`\\b${alias}\\.(\\w+)`, 'g'))].map((m) => m[1]!)),
      ].sort(),
      sql,
    }));
    return {
      edges: this.edges.list(),
      traitWindows: this.traitWindows,
      relations,
      accounts: this.accountConditions.length > 0,
    };
  }

  build(definitions: readonly SegmentDefinition[]): CompiledSegments {
    const columns = definitions.map((s, i) => ({ name: s.name, column: `s${i}`, sql: this.segment(s) }));
    const aggregates = this.aggregates.length ? `, ${this.aggregates.join(', ')}` : '';
    // Scoped: the events of the people to evaluate, read once through their identifiers, with only the columns the
    // conditions read (JSON columns are the costly part of reading every event).
    const read = [
      ...this.rowColumns.keys(),
      ...this.detailColumns.keys(),
      ...this.sequenceMatchers.keys(),
      ...this.detailAggregates,
      // The detail pass keeps each event's message id (the tie-break of "latest").
      this.detailGuards.size || this.sequenceMatchers.size ? 'ev.message_id' : '',
    ].join(' ');
    const optional = ['message_id', 'properties', 'traits'].filter((c) =>
      new RegExp(`\\bev\\.${c}\\b`).test(read),
    );
    // When asked, and every segment reads only recent events and is false for a person without any (eventLookbackMs),
    // only the events since T − lookback are read: the engine skips every older row group, and people without a
    // recent event get no row, which to a refresh means being in none of the segments (accounts read everything).
    const lookback =
      !this.recentEventsOnly || this.accountConditions.length
        ? null
        : eventLookbackMs([...this.byName.values()]);
    const since = lookback === null ? null : new Date(this.asOf.getTime() - lookback);
    const sinceParam = since === null ? null : this.params.add(since);
    const recent = (column: string, param: string | null) =>
      param === null ? '' : ` AND ${column} > ${param}`;
    const scopedSql = (asOf: string, sinceAt: string | null) =>
      scopedPersonEventsSql(
        this.context ?? this.scope!,
        ['type', 'event', 'event_kind', 'name', 'ts', ...optional],
        `e.ts <= ${asOf}${recent('e.ts', sinceAt)}`,
      );
    const stagedParams = new Params();
    const staged =
      this.scope && this.stagedEvents
        ? {
            name: this.stagedEvents,
            select: scopedSql(stagedParams.add(this.asOf), since === null ? null : stagedParams.add(since)),
            params: stagedParams.values,
          }
        : undefined;
    const scoped =
      this.scope && !staged
        ? `scoped_events AS ${this.d.materialized()} (${scopedSql(this.asOfParam, sinceParam)}),\n`
        : '';
    const ctes = [
      // One pass over the events: every matcher and extracted value is computed once per event, then aggregated.
      `evf AS (SELECT ev.person_id, ev.ts${[...this.rowColumns].map(([sql, name]) => `, ${sql} AS ${name}`).join('')}
        FROM ${this.events} ev WHERE ev.ts <= ${this.asOfParam}${recent('ev.ts', sinceParam)})`,
      `agg AS (SELECT ev.person_id${aggregates} FROM evf ev GROUP BY ev.person_id)`,
    ];
    // The detail pass: the few events that JSON-reading columns and sequences concern, read once (materialised).
    const selectors = [...this.detailGuards, ...this.sequenceMatchers.keys()];
    if (selectors.length) {
      const columns = [...this.detailColumns, ...this.sequenceMatchers];
      ctes.push(
        `detail_events AS ${this.d.materialized()} (SELECT ev.person_id, ev.ts, ev.message_id${columns.map(([sql, name]) => `, ${sql} AS ${name}`).join('')}
        FROM ${this.events} ev WHERE ev.ts <= ${this.asOfParam}${recent('ev.ts', sinceParam)} AND (${selectors.map((m) => `(${m})`).join(' OR ')}))`,
      );
    }
    if (this.detailAggregates.length) {
      ctes.push(
        `dagg AS (SELECT ev.person_id, ${this.detailAggregates.join(', ')} FROM detail_events ev GROUP BY ev.person_id)`,
      );
    }
    ctes.push(...this.ctes);
    const relations = [
      ...(this.detailAggregates.length
        ? [{ alias: 'dagg', sql: 'LEFT JOIN dagg ON dagg.person_id = agg.person_id' }]
        : []),
      ...this.joins,
    ];
    // The account pass joins only the relations its conditions read: a join of a million rows is not free. (The final
    // SELECT joins them all: each one's bound values must appear in the statement.)
    const joinsFor = (exprs: readonly string[]) =>
      relations
        .filter((r) => exprs.some((e) => new RegExp(`\\b${r.alias}\\.`).test(e)))
        .map((r) => r.sql)
        .join(' ');
    if (this.accountConditions.length) {
      const d = this.d;
      ctes.push(
        `prow AS (SELECT agg.person_id AS person_id${this.accountConditions.map((a) => `, coalesce(${a.inner}, FALSE) AS ${a.id}_x`).join('')}
          FROM agg ${joinsFor(this.accountConditions.map((a) => a.inner))})`,
      );
      for (const a of this.accountConditions) {
        // Columns named (`x AS x`): after two joins ClickHouse names them by their qualified text (`ap.person_id`).
        const members = `account_persons ap JOIN account_persons am ON am.group_id = ap.group_id JOIN prow pr ON pr.person_id = am.person_id`;
        ctes.push(
          a.mode === 'any'
            ? `${a.id} AS (SELECT ap.person_id AS person_id, ${d.boolOr(`pr.${a.id}_x`)} AS hit FROM ${members} GROUP BY ap.person_id)`
            : `${a.id} AS (SELECT person_id, ${d.boolOr('ok')} AS hit FROM (
                SELECT ap.person_id AS person_id, ap.group_id AS group_id, ${d.boolAnd(`pr.${a.id}_x`)} AS ok FROM ${members} GROUP BY ap.person_id, ap.group_id)
              GROUP BY person_id)`,
        );
        relations.push({ alias: a.id, sql: `LEFT JOIN ${a.id} ON ${a.id}.person_id = agg.person_id` });
      }
    }
    const mainPass = `WITH ${ctes.slice(0, 2).join(',\n')}\nSELECT * FROM agg`;
    const sql = `WITH ${scoped}${ctes.join(',\n')}
SELECT agg.person_id AS person_id${columns.map((c) => `,\n  ${this.d.asColumnType(`coalesce(${c.sql}, FALSE)`, 'boolean')} AS ${q(c.column)}`).join('')}
FROM agg ${relations.map((r) => r.sql).join(' ')}${
      // The context's other people are read only for their accounts' sake: their rows are not the scope's.
      this.scope && this.context ? `\nWHERE agg.person_id IN (SELECT person_id FROM ${this.scope})` : ''
    }`;
    return {
      sql,
      params: this.params.values,
      columns: columns.map(({ name, column }) => ({ name, column })),
      mainPass,
      dependence: this.dependence(columns.map((c) => c.sql)),
      ...(staged ? { staged } : {}),
    };
  }
}

/**
 * Compile segment definitions into one query returning `person_id` and one boolean column per segment (see
 * `columns`), evaluated as of `asOf` for every person with an event at or before it.
 */
export function compileSegments(
  d: Dialect,
  definitions: readonly SegmentDefinition[],
  options: {
    asOf: Date;
    features?: FeatureSource;
    /** A table with a person_id column: evaluate only those people. */
    scope?: string;
    /**
     * With `scope`: a table of the people whose events are read (the scope and every member of their accounts), so
     * account conditions see whole accounts; rows are still returned for the scope only.
     */
    context?: string;
    /**
     * With `scope`: stage the scoped people's events in this scratch table (`CompiledSegments.staged`, to be created
     * before the query runs) instead of a CTE. ClickHouse inlines a CTE at every reference, and the evaluation refers
     * to the events a dozen times (the main pass, the detail pass and each sequence step): each was a read of the
     * events table.
     */
    stageEvents?: string;
    /** The relation everyone's events are read from (`eventsRelation`); default `person_events`. */
    events?: string;
    /** Only these segments' columns (the others are there for their references): reads only what they need. */
    only?: readonly string[];
    /**
     * Read only the events since T − the segments' lookback when every segment allows it (`eventLookbackMs`): people
     * without a recent event then get no row. For callers to whom a missing row means "in none of the segments" (the
     * refreshes); a count of everyone evaluated (a preview's population) needs every row, so it is off by default.
     */
    recentEventsOnly?: boolean;
    /**
     * The stored event kinds (`loadEventKinds`, read in the transaction that evaluates): track events are matched by
     * kind. Without them (a compile that only checks definitions), by type and name; both give the same rows.
     */
    kinds?: EventKinds;
  },
): CompiledSegments {
  const names = new Set<string>();
  for (const s of definitions) {
    if (names.has(s.name)) {
      throw new SegflowError(
        'SEGMENT_INVALID',
        `two segments are named '${s.name}'`,
        'give each segment its own name',
      );
    }
    names.add(s.name);
  }
  const only = options.only;
  return new Compiler(
    d,
    definitions,
    options.asOf,
    options.features,
    options.scope,
    options.context,
    options.events,
    options.kinds,
    options.stageEvents,
    options.recentEventsOnly ?? false,
  ).build(only ? definitions.filter((s) => only.includes(s.name)) : definitions);
}
