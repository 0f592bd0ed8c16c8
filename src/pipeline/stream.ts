import { z } from 'zod';
import { destinationsOf, prepareActivation } from '../activate/activate-run.js';
import type { Destination } from '../activate/destinations/destination.js';
import type { Warehouse } from '../engine/warehouse.js';
import { auditDefinitionChanges, definitionVersions } from '../govern/audit.js';
import { squashPersonOverrides } from '../instrument/persons-on-events.js';
import { featureSource } from '../model/feature-catalog.js';
import { dropFeatureSnapshot } from '../model/feature-snapshots.js';
import { featureWindowsMs } from '../model/feature-sql.js';
import { TIME_OR_POPULATION_COLUMNS, updateLiveFeatures } from '../model/live-features.js';
import type { ModelConfig } from '../model/model-config.js';
import { refreshFeatures } from '../model/refresh-features.js';
import { compileSegments, type TimeDependence } from '../segment/compile.js';
import { refreshSegments } from '../segment/memberships.js';
import { foldRefresh, lastEvaluation } from '../segment/refresh-history.js';
import { mergeEdges } from '../segment/time-edges.js';
import { Timestamp } from '../shared/timestamp.js';
import type { CycleInputs } from './cycle.js';
import { DueQueue, dueEdges, earliestDue } from './due-edges.js';

/** The queue's horizon when no edge will fall due without new events (which refill it). */
const NO_HORIZON = new Date('9999-12-31T00:00:00Z');

/** The scratch relation of the people whose live feature rows an evaluation replaced (the segments' scope reads it). */
const LIVE_CHANGED = '_sf_stream_features_changed';

/** How the stream keeps the features segments read: see `featureMode`. */
export type FeatureMode = 'none' | 'live' | 'snapshot';

/**
 * How an evaluation keeps the features the segments read. `none`: no segment reads features. `live`: one snapshot kept
 * current in place, only the people concerned recomputed (`model/live-features.ts`) — an evaluation costs in
 * proportion to them. `snapshot`: some segment reads a feature that moves with time alone or with other people
 * (recency, decayed scores, RFM scores), so each evaluation writes a whole snapshot, as a refresh does.
 *
 * @example
 * featureMode(compileSegments(wh.dialect, defs, { asOf, features }).dependence); // 'live'
 */
export function featureMode(dependence: TimeDependence): { mode: FeatureMode; moving: string[] } {
  const read = dependence.relations.find((r) => r.alias === 'f');
  if (!read) return { mode: 'none', moving: [] };
  const moving = read.columns.filter((c) => TIME_OR_POPULATION_COLUMNS.includes(c));
  return { mode: moving.length ? 'snapshot' : 'live', moving };
}

/** The segments' time edges, with the models' windows when segments read features (a feature changes at them too). */
function queueDependence(dependence: TimeDependence, model: ModelConfig): TimeDependence {
  if (featureMode(dependence).mode === 'none') return dependence;
  // A feature window counts every kind of event.
  const windows = featureWindowsMs(model).map((ms) => ({ ms, events: null }));
  return { ...dependence, edges: mergeEdges(dependence.edges, windows) };
}

/**
 * Streaming evaluation: memberships and plays follow events within about a second, with the cycle's exact semantics.
 *
 * An evaluation is one incremental turn of the loop as of a time T — features (when segments read them), the segments
 * through the scoped incremental refresh (only people with an event stored since the last evaluation, or an event
 * crossing a time edge, are evaluated: `segment/incremental.ts`), then the playbook's triggers and outbox — so entries
 * and exits, decisions, consent, holdout arms and idempotency keys are the cycle's own. What starts one:
 * - new events in the warehouse (a load of the intake log, an import, a direct commit): an evaluation as of now;
 * - a time edge falling due (`due-edges.ts`): an evaluation as of the due time itself, so an abandonment's play is
 *   decided at the moment the wait ends, not at the next cycle.
 * Loads that arrive while an evaluation runs are covered together by the next one: under load, streaming becomes
 * batch evaluation of the backlog, and `status().mode` says so. Evaluations and the caller's own work (`exclusive`:
 * the periodic cycle) never overlap, and time only moves forward.
 */

/** Why an evaluation ran: new events, a time edge falling due, or the start of the stream. */
export type EvaluationReason = 'events' | 'edge' | 'start';

/** One evaluation, as the stream reports it to its listener (the server's metrics and log). */
export interface StreamEvaluation {
  asOf: Date;
  reason: EvaluationReason;
  seconds: number;
  /** People whose memberships were evaluated. */
  evaluated: number;
  /**
   * People whose features were computed from their events: in live mode the people concerned, when a snapshot is
   * written everyone recomputed by that refresh; 0 when no segment reads features.
   */
  featuresRecomputed: number;
  entered: number;
  exited: number;
  /** Deliveries sent by the outbox in this evaluation. */
  sent: number;
  /** For 'events': seconds from each covered notification (`notifyEvents`) to the end of this evaluation. */
  eventLatencies: number[];
  /** For 'edge': seconds from the due time to the end of this evaluation (on the stream's clock). */
  edgeDelay?: number;
  /** Seconds spent in each step, in order (squash, features, segments, audit, activation, queue): where time goes. */
  phases: Record<string, number>;
}

/** The stream's state for /healthz, the admin API and the CLI. */
export const StreamStatusSchema = z
  .object({
    enabled: z.boolean(),
    mode: z
      .enum(['streaming', 'batch', 'off'])
      .describe('batch: evaluations fall behind the events and each covers a backlog (see reason)'),
    reason: z.string().nullable().describe('why the mode is not streaming'),
    lagSeconds: z.number().describe('age of the oldest notification of new events not yet evaluated'),
    pendingNotifications: z.number(),
    dueEdges: z.number().describe('time edges in the due-time queue (within its horizon)'),
    features: z
      .enum(['none', 'live', 'snapshot'])
      .describe(
        'how evaluations keep the features segments read: live (only the people concerned), snapshot (a whole snapshot each: some segment reads recency, a decayed score or an RFM score), none',
      ),
    featuresReason: z.string().nullable().describe('why evaluations write a whole features snapshot'),
    nextDue: Timestamp.nullable(),
    evaluations: z.number(),
    failures: z.number(),
    lastEvaluation: z
      .object({
        asOf: Timestamp,
        reason: z.enum(['events', 'edge', 'start']),
        seconds: z.number(),
        evaluated: z.number(),
        entered: z.number(),
        exited: z.number(),
        sent: z.number(),
      })
      .nullable(),
    lastError: z.object({ at: Timestamp, message: z.string() }).nullable(),
  })
  .meta({ id: 'StreamStatus' });
export type StreamStatus = z.output<typeof StreamStatusSchema>;

export interface StreamOptions {
  /** What each evaluation reads; called before every evaluation, so edited files count at once. */
  inputs: () => CycleInputs;
  /** The clock (default: the system's). Tests pass a simulated one and call `settle()`. */
  now?: () => Date;
  /** How far ahead the due-time queue is filled. Default 60 s. */
  horizonMs?: number;
  /**
   * Edges overdue by more than this (after a stop, or a clock jump) are caught up by one evaluation as of now instead
   * of one per due time. Default 5 minutes.
   */
  catchUpAfterMs?: number;
  /**
   * Behind: an edge overdue by more than this, or by more than the last evaluation took. Evaluating each overdue edge
   * as of its own time would then queue one evaluation per edge (seconds each on a million people) and fall further
   * behind — at 5,000 events/s the realtime benchmark measured plays five minutes late. So one evaluation as of now
   * decides every overdue edge and the new events together, late by the lag that is there anyway. Default: 1 s on the
   * real clock; off (exact per-edge times) on a simulated clock (`now` given), unless set.
   */
  behindAfterMs?: number;
  /** Lag beyond which the stream reports `batch` mode. Default 2 s. */
  degradeAfterMs?: number;
  /** With real timers (`start()`): how often the warehouse is checked for events nobody notified. Default 1 s. */
  pollMs?: number;
  /** Destinations to send through (default: the playbook's, kept open while the stream runs). */
  destinations?: ReadonlyMap<string, Destination>;
  onEvaluation?: (e: StreamEvaluation) => void;
  onError?: (e: unknown) => void;
}

/**
 * The stream evaluator. On a simulated clock: `notifyEvents()` after ingesting, then `await settle()`. In a server:
 * `start()` runs it on real timers until `stop()`.
 *
 * @example
 * const stream = new StreamEvaluator(wh, { inputs: () => cycleInputs() });
 * await stream.start(); // evaluates now, then follows loads and due edges
 * committer.onLoad = () => stream.notifyEvents();
 */
export class StreamEvaluator {
  private readonly now: () => Date;
  private readonly horizonMs: number;
  private readonly degradeAfterMs: number;
  private readonly catchUpAfterMs: number;
  private readonly behindAfterMs: number;
  private readonly pollMs: number;
  private readonly queue = new DueQueue();
  /**
   * What the queue holds: the edges of the events stored up to `batch`, for the segments' time dependence `key`. New
   * loads add their events' edges; the whole queue is read again when the horizon passes or the definitions change.
   */
  private queueOf: { batch: number; key: string } | undefined;
  /** Real-clock times (ms) of notifications not yet covered by an evaluation. */
  private notified: number[] = [];
  private seenBatch = -1;
  /** New events arrived that no evaluation as of a time at or after their arrival has covered yet. */
  private eventsPending = false;
  /**
   * The features snapshot the stream wrote (and, in live mode, keeps current in place), dropped once the stream writes
   * another; with the model configuration it was written with.
   */
  private ownSnapshot: { asOf: Date; model: string } | undefined;
  /** The last refresh of the segments this stream made: the next one folds it in when both are in the same hour. */
  private lastRefresh: { id: number; asOf: Date } | undefined;
  private features: { mode: FeatureMode; moving: string[] } = { mode: 'none', moving: [] };
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private kicked = false;
  private stopped = false;
  /**
   * On real timers (`start()` until `stop()`): notifications and due edges start evaluations by themselves. Before, only
   * `settle()` evaluates — a simulated clock's test steps the stream itself, and an evaluation started by a timer
   * while the test is still storing the events of its next step would see half of it.
   */
  private following = false;
  private ownedDestinations: Map<string, Destination> | undefined;
  private evaluations = 0;
  private failures = 0;
  private last: StreamEvaluation | undefined;
  private lastError: { at: Date; message: string } | undefined;
  private externalBehind: string | null = null;

  constructor(
    private readonly wh: Warehouse,
    private readonly options: StreamOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.horizonMs = options.horizonMs ?? 60_000;
    this.degradeAfterMs = options.degradeAfterMs ?? 2_000;
    this.catchUpAfterMs = options.catchUpAfterMs ?? 300_000;
    this.behindAfterMs = options.behindAfterMs ?? (options.now ? Number.POSITIVE_INFINITY : 1_000);
    this.pollMs = options.pollMs ?? 1_000;
  }

  /** New events are in the warehouse (a load, an import): evaluate as soon as possible. */
  notifyEvents(): void {
    this.notified.push(performance.now());
    this.kick();
  }

  /**
   * Evaluate until nothing is left to do as of the stream's clock: every edge due up to now (each as of its due
   * time, earliest first), then the new events as of now. Resolves when done; a failure rejects (and is retried by
   * the next call).
   */
  settle(): Promise<void> {
    return this.serial(() => this.drain());
  }

  /** Run `fn` while no evaluation runs (the periodic cycle uses this; time must move forward for both). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.serial(fn);
  }

  /** Follow events and due edges on real timers: evaluates at once (rebuilding the due-time queue), then as needed. */
  async start(): Promise<void> {
    this.stopped = false;
    this.following = true;
    this.kick();
    await this.chain.catch(() => undefined);
  }

  /** Stop the timers and wait for the running evaluation; close destinations the stream opened. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.following = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.chain.catch(() => undefined);
    if (this.ownedDestinations) for (const d of this.ownedDestinations.values()) await d.close();
    this.ownedDestinations = undefined;
  }

  /**
   * Something outside the stream says evaluations cover a backlog (the server: the intake log's loader is behind);
   * null when it is not.
   */
  setBehind(reason: string | null): void {
    this.externalBehind = reason;
  }

  status(): StreamStatus {
    const lagMs = this.notified.length ? performance.now() - this.notified[0]! : 0;
    const reason =
      this.externalBehind ??
      (lagMs > this.degradeAfterMs
        ? `evaluations are ${(lagMs / 1000).toFixed(1)} s behind the events: each covers the backlog`
        : null);
    const last = this.last;
    return {
      enabled: !this.stopped,
      mode: this.stopped ? 'off' : reason ? 'batch' : 'streaming',
      reason: this.stopped ? 'streaming is off' : reason,
      lagSeconds: lagMs / 1000,
      pendingNotifications: this.notified.length,
      dueEdges: this.queue.size,
      features: this.features.mode,
      featuresReason:
        this.features.mode === 'snapshot'
          ? `segments read ${this.features.moving.join(', ')}, which move with time or with other people: each evaluation writes a whole features snapshot`
          : null,
      nextDue: this.queue.next()?.due ?? null,
      evaluations: this.evaluations,
      failures: this.failures,
      lastEvaluation: last
        ? {
            asOf: last.asOf,
            reason: last.reason,
            seconds: last.seconds,
            evaluated: last.evaluated,
            entered: last.entered,
            exited: last.exited,
            sent: last.sent,
          }
        : null,
      lastError: this.lastError ?? null,
    };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** With real timers: run `drain` now, or once more after the running one. */
  private kick(): void {
    if (this.stopped || !this.following) return;
    if (this.running) {
      this.kicked = true;
      return;
    }
    this.running = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    void this.serial(async () => {
      let failed = false;
      try {
        do {
          this.kicked = false;
          await this.drain();
        } while (this.kicked && !this.stopped);
      } catch (e) {
        failed = true;
        this.options.onError?.(e);
      } finally {
        this.running = false;
        this.arm(failed);
      }
    });
  }

  /** The next wake-up: the earliest due edge, the horizon, or the poll for unnotified events. */
  private arm(failed: boolean): void {
    if (this.stopped) return;
    const now = this.now().getTime();
    let wait = failed ? 1_000 : this.pollMs;
    const next = this.queue.next()?.due.getTime() ?? this.queue.horizon?.getTime();
    if (!failed && next !== undefined) wait = Math.min(wait, Math.max(0, next - now));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, wait);
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    for (;;) {
      const now = this.now();
      const batch = await this.currentBatch();
      if (batch !== this.seenBatch || this.notified.length) this.eventsPending = true;
      this.seenBatch = batch;
      const stored = await this.lastAsOf();
      const mine = this.last?.asOf;
      const last = stored && mine ? new Date(Math.max(stored.getTime(), mine.getTime())) : (stored ?? mine);
      const notBefore = (t: Date) => (last && t.getTime() < last.getTime() ? last : t);
      // First evaluation: everyone (or incremental from an earlier run), then the queue is built from the warehouse.
      if (last === undefined) {
        await this.evaluate(now, 'start');
        continue;
      }
      if (!this.queue.horizon || this.queue.horizon.getTime() < last.getTime()) await this.refill(last);
      const next = this.queue.next();
      if (next && next.due.getTime() <= now.getTime()) {
        // Each edge as of its due time, so its play is decided when the wait ends; after a long stop (edges more
        // than `catchUpAfterMs` overdue) or when behind (`behindAfterMs`), one evaluation as of now catches up with
        // all of them and with the new events.
        const overdue = now.getTime() - next.due.getTime();
        const behind = overdue > Math.max(this.behindAfterMs, (this.last?.seconds ?? 0) * 1000);
        const catchUp = overdue > this.catchUpAfterMs || behind;
        // Otherwise overdue edges come first, with the new events already in (as a full refresh at that time would see
        // them); the new events' own changes are then recorded as of now, by the evaluation below.
        await this.evaluate(notBefore(catchUp ? now : next.due), 'edge', next.due, catchUp);
        continue;
      }
      if (this.eventsPending) {
        await this.evaluate(notBefore(now), 'events');
        continue;
      }
      if (this.queue.horizon && this.queue.horizon.getTime() <= now.getTime()) {
        // Edges between the old horizon and now are due: they come next, each as of its time.
        await this.refill(this.queue.horizon);
        const due = this.queue.next();
        if (due && due.due.getTime() <= now.getTime()) continue;
      }
      return;
    }
  }

  private async currentBatch(db: Warehouse = this.wh): Promise<number> {
    const [row] = await db.query<{ value: string }>(
      "SELECT value FROM segflow_meta WHERE key = 'ingest_batch'",
    );
    return Number(row?.value ?? 0);
  }

  private async lastAsOf(): Promise<Date | undefined> {
    const [row] = await this.wh.query<{ as_of: Date | null }>(
      'SELECT max(as_of) AS as_of FROM segment_refreshes',
    );
    return row?.as_of ?? undefined;
  }

  /**
   * Fill the queue with the edges due in (after, horizon], the horizon being `horizonMs` ahead or, when nothing falls
   * due that soon, the first due time: a wait of a day is one query away, not a day of polling.
   */
  private async refill(after: Date, db: Warehouse = this.wh): Promise<void> {
    const batch = await this.currentBatch(db);
    const dependence = this.queueDependence(after);
    if (!dependence) {
      this.queue.fill([], NO_HORIZON);
      this.queueOf = undefined;
      return;
    }
    this.queueOf = { batch, key: JSON.stringify([dependence.edges, dependence.traitWindows]) };
    const first = await earliestDue(db, dependence, after);
    if (!first) {
      this.queue.fill([], NO_HORIZON);
      return;
    }
    const until = new Date(Math.max(after.getTime() + this.horizonMs, first.getTime()));
    this.queue.fill(await dueEdges(db, dependence, { after, until }), until);
  }

  /** The time dependence the queue follows: the active segments' edges (with the models' windows), or none. */
  private queueDependence(asOf: Date): TimeDependence | undefined {
    const inputs = this.options.inputs();
    const active = inputs.segments.map((d) => d.definition).filter((d) => d.active);
    if (!active.length) return undefined;
    return queueDependence(
      compileSegments(this.wh.dialect, active, { asOf, features: featureSource(this.wh.dialect) }).dependence,
      inputs.model,
    );
  }

  /**
   * After an evaluation as of `after`: add the edges of the events stored since the queue was read, due up to its
   * horizon — a read of the newest rows only (events are stored in batch order), where reading the queue again would
   * scan every event once per edge, on every evaluation. The whole queue is read again when its horizon has passed or
   * the definitions changed.
   */
  private async extend(after: Date, db: Warehouse = this.wh): Promise<void> {
    const horizon = this.queue.horizon;
    const held = this.queueOf;
    const dependence = this.queueDependence(after);
    const key = dependence ? JSON.stringify([dependence.edges, dependence.traitWindows]) : undefined;
    // The queue must hold the first edge due after `after` (the stream takes edges in order): with its horizon passed,
    // or with none left before a horizon that only bounds what was read, edges beyond the horizon may come first.
    const exhausted = this.queue.size === 0 && horizon?.getTime() !== NO_HORIZON.getTime();
    if (
      !horizon ||
      !held ||
      !dependence ||
      key !== held.key ||
      exhausted ||
      horizon.getTime() <= after.getTime()
    ) {
      await this.refill(after, db);
      return;
    }
    const batch = await this.currentBatch(db);
    if (batch <= held.batch) return;
    this.queue.add(
      await dueEdges(db, dependence, {
        after,
        until: horizon,
        batches: { after: held.batch, upTo: batch },
      }),
    );
    this.queueOf = { batch, key: held.key };
  }

  private destinations(inputs: CycleInputs): ReadonlyMap<string, Destination> {
    if (this.options.destinations) return this.options.destinations;
    this.ownedDestinations ??= destinationsOf(inputs.playbook!);
    return this.ownedDestinations;
  }

  /**
   * Bring the features segments read to `asOf`: in live mode the stream's snapshot is updated in place for the people
   * concerned (`live`: they are in LIVE_CHANGED); otherwise, or when there is no live snapshot to update (the first
   * evaluation, a newer snapshot from a cycle, another model configuration), a snapshot is written as a refresh
   * writes one, and the stream's previous one is to be dropped (`drop`) once the segments no longer start from it.
   */
  private async keepFeatures(
    db: Warehouse,
    model: ModelConfig,
    asOf: Date,
  ): Promise<{ live: boolean; drop?: Date; recomputed: number }> {
    if (this.features.mode === 'none') return { live: false, recomputed: 0 };
    const key = JSON.stringify(model);
    const own = this.ownSnapshot;
    if (this.features.mode === 'live' && own && own.model === key) {
      const last = await lastEvaluation(db);
      const [latest] = await db.query<{ as_of: Date | null }>(
        'SELECT max(as_of) AS as_of FROM feature_refreshes WHERE as_of <= ?',
        [asOf],
      );
      // From the last evaluation of the segments: a failed one is redone with the people of both.
      if (last && latest?.as_of?.getTime() === own.asOf.getTime()) {
        const u = await updateLiveFeatures(db, model, {
          snapshot: own.asOf,
          since: last.asOf,
          batch: last.batch,
          asOf,
          changed: LIVE_CHANGED,
        });
        return { live: true, recomputed: u.recomputed };
      }
    }
    const f = await refreshFeatures(db, model, { asOf });
    this.ownSnapshot = { asOf, model: key };
    const drop = own && own.asOf.getTime() !== asOf.getTime() ? own.asOf : undefined;
    return { live: false, recomputed: f.recomputed, ...(drop ? { drop } : {}) };
  }

  /** Fold the previous refresh of this stream into this one when nothing came between and both are in the same hour. */
  private async foldLog(db: Warehouse, refreshId: number, asOf: Date): Promise<void> {
    const prev = this.lastRefresh;
    this.lastRefresh = { id: refreshId, asOf };
    const hour = (d: Date) => Math.floor(d.getTime() / 3_600_000);
    if (prev && prev.id === refreshId - 1 && hour(prev.asOf) === hour(asOf))
      await foldRefresh(db, { from: prev.id, into: refreshId });
  }

  /** One incremental turn of the loop as of `asOf`. */
  private async evaluate(asOf: Date, reason: EvaluationReason, due?: Date, asOfNow = false): Promise<void> {
    const started = performance.now();
    // An edge evaluation as of an earlier time does not cover the arrival of new events: one as of now does.
    const covers = reason !== 'edge' || asOfNow;
    const covered = covers ? this.notified : [];
    if (covers) {
      this.notified = [];
      this.eventsPending = false;
    }
    const phases: Record<string, number> = {};
    let mark = started;
    const lap = (name: string) => {
      const t = performance.now();
      phases[name] = (t - mark) / 1000;
      mark = t;
    };
    try {
      const inputs = this.options.inputs();
      const active = inputs.segments.map((d) => d.definition).filter((d) => d.active);
      const features = featureSource(this.wh.dialect);
      let entered = 0;
      let exited = 0;
      let evaluated = 0;
      let featuresRecomputed = 0;
      const playbook = inputs.playbook;
      // The evaluation's statements run back to back (Warehouse.exclusive): the segments, activation's decisions and
      // the outbox drain's plan in one hold, then the sends holding nothing, then the sends' outcome and the queue in
      // another. Each hold waits for the collector's load in progress: one statement at a time, or one step at a time,
      // the evaluation waited behind a whole load each time.
      const { refreshed, drain } = await this.wh.exclusive(async (db) => {
        let refreshed: Awaited<ReturnType<typeof refreshSegments>> | undefined;
        if (active.length) {
          await squashPersonOverrides(db);
          lap('squash');
          const { dependence } = compileSegments(db.dialect, active, { asOf, features });
          this.features = featureMode(dependence);
          const { live, drop, recomputed } = await this.keepFeatures(db, inputs.model, asOf);
          featuresRecomputed = recomputed;
          lap('features');
          const versions = await definitionVersions(db, 'segments');
          try {
            refreshed = await refreshSegments(db, inputs.segments, {
              asOf,
              features,
              ...(live ? { live: { aliases: ['f'], changed: LIVE_CHANGED } } : {}),
            });
          } finally {
            if (live) await db.storage.dropScratch(LIVE_CHANGED);
          }
          lap('segments');
          await auditDefinitionChanges(db, 'segments', versions, { actor: 'server', source: 'stream' });
          // The snapshot before is no longer what an incremental start reads (that is now this one's).
          if (drop) await dropFeatureSnapshot(db, drop);
          await this.foldLog(db, refreshed.refreshId, asOf);
          lap('audit');
        }
        const prepared = playbook
          ? await prepareActivation(db, playbook, { asOf, destinations: this.destinations(inputs) })
          : undefined;
        if (prepared) lap('activation');
        return { refreshed, drain: prepared?.drain };
      });
      if (refreshed) {
        evaluated = refreshed.recomputed;
        for (const s of refreshed.segments) {
          entered += s.entered;
          exited += s.exited;
        }
      }
      if (drain) {
        await drain.send();
        lap('send');
      }
      this.queue.dropUntil(asOf);
      await this.wh.exclusive(async (db) => {
        if (drain) await drain.record(db);
        await this.extend(asOf, db);
      });
      const sent = drain?.summary.sent ?? 0;
      lap('queue');
      const ended = performance.now();
      const evaluation: StreamEvaluation = {
        asOf,
        reason,
        seconds: (ended - started) / 1000,
        evaluated,
        featuresRecomputed,
        entered,
        exited,
        sent,
        eventLatencies: covered.map((t) => (ended - t) / 1000),
        ...(due ? { edgeDelay: Math.max(0, this.now().getTime() - due.getTime()) / 1000 } : {}),
        phases,
      };
      this.evaluations++;
      this.last = evaluation;
      this.lastError = undefined;
      this.options.onEvaluation?.(evaluation);
    } catch (e) {
      // What was not covered is covered by the next attempt: the incremental start is the last successful refresh.
      if (covers) {
        this.notified = [...covered, ...this.notified];
        this.eventsPending = true;
      }
      this.failures++;
      this.lastError = { at: new Date(), message: e instanceof Error ? e.message : String(e) };
      throw e;
    }
  }
}

/**
 * The status of a server that does not stream (`segflow serve --no-stream`): plays wait for the cycle.
 *
 * @example
 * const status = stream?.status() ?? streamOffStatus();
 */
export function streamOffStatus(): StreamStatus {
  return {
    enabled: false,
    mode: 'off',
    reason: 'streaming is off: memberships and plays follow the cycle (serve --cycle-every)',
    lagSeconds: 0,
    pendingNotifications: 0,
    dueEdges: 0,
    features: 'none',
    featuresReason: null,
    nextDue: null,
    evaluations: 0,
    failures: 0,
    lastEvaluation: null,
    lastError: null,
  };
}
