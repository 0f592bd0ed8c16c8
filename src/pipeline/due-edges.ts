import { Params } from '../engine/params.js';
import type { Warehouse } from '../engine/warehouse.js';
import type { TimeDependence } from '../segment/compile.js';
import { edgeEventTest } from '../segment/time-edges.js';

/**
 * Time edges without events. A membership can change when nothing happens: an event leaves a `within` window, an
 * abandonment's `thenNot` wait ends, an event moves to the next `didRegularly` period, a trait date crosses its
 * window, a future-dated event becomes past. The compiler records each offset W at which a condition compares an event
 * time with T − W (`TimeDependence.edges`, W = 0 included) and each trait-date window; an edge of a person falls due
 * at `ts + W` for each of their events (and at the trait date, and at the trait date + W).
 *
 * Only edges falling due after their event was received are edges: one that fell due before (a late event's window
 * edge, a new event's own time) is covered by the evaluation of the load that brought the event, so each load is one
 * evaluation, not one per event time.
 *
 * The queue is derived from the warehouse, never stored: `dueEdges` reads the edges falling due in a time range, so a
 * restarted server rebuilds it with one call, and nothing can be lost by a crash.
 */

/** One person's edge falling due: at `due`, their membership of some segment may change without a new event. */
export interface DueEdge {
  due: Date;
  personId: string;
  /** Which edge: `event+<W ms>` (an event's time plus W) or `trait <path>+<W ms>`. */
  edge: string;
}

/**
 * The edges falling due in (after, until], earliest first: each person's distinct due times for each edge, from the
 * events that edge concerns (`segment/time-edges.ts`). With `batches`, only the edges of the events stored by those
 * ingest batches (after, upTo] — what new events add to a queue already read up to `until`, from the newest rows.
 *
 * @example
 * const due = await dueEdges(wh, compileSegments(wh.dialect, defs, { asOf }).dependence, {
 *   after: new Date('2026-05-04T12:00:00Z'),
 *   until: new Date('2026-05-04T13:00:00Z'),
 * });
 */
export async function dueEdges(
  wh: Warehouse,
  dependence: TimeDependence,
  range: { after: Date; until: Date; batches?: { after: number; upTo: number } },
): Promise<DueEdge[]> {
  const after = range.after.getTime();
  const until = range.until.getTime();
  if (until <= after) return [];
  const out: DueEdge[] = [];
  const inBatches = (p: Params) =>
    range.batches
      ? ` AND ev.ingest_batch > ${p.add(range.batches.after)} AND ev.ingest_batch <= ${p.add(range.batches.upTo)}`
      : '';
  // Events: an event at ts crosses edge W when T passes ts + W, i.e. ts in (after − W, until − W].
  const d = wh.dialect;
  for (const edge of dependence.edges) {
    const { ms } = edge;
    const p = new Params();
    const events = edgeEventTest(edge, 'ev', p);
    const rows = await wh.query<{ person_id: string; ts: Date }>(
      `SELECT DISTINCT ev.person_id, ev.ts FROM person_events ev
       WHERE ev.ts > ${p.add(new Date(after - ms))} AND ev.ts <= ${p.add(new Date(until - ms))}
         AND ${d.plusMs('ev.ts', ms)} > ev.received_at${events === 'TRUE' ? '' : ` AND ${events}`}${inBatches(p)}`,
      p.values,
    );
    for (const r of rows)
      out.push({ due: new Date(r.ts.getTime() + ms), personId: r.person_id, edge: `event+${ms}` });
  }
  // Trait dates: a window (T − W, T] gains the date at T = date and loses it at T = date + W.
  for (const { path, ms } of dependence.traitWindows) {
    for (const offset of [0, ms]) {
      const p = new Params();
      const at = d.parseTimestamp(d.jsonText('ev.traits', p.add(path)));
      const lo = p.add(new Date(after - offset));
      const hi = p.add(new Date(until - offset));
      const rows = await wh.query<{ person_id: string; ts: Date }>(
        `SELECT DISTINCT person_id, t AS ts FROM (
           SELECT ev.person_id, ${at} AS t, ev.received_at FROM person_events ev
           WHERE ev.type = 'identify'${inBatches(p)}) x
         WHERE t > ${lo} AND t <= ${hi} AND ${d.plusMs('t', offset)} > received_at`,
        p.values,
      );
      for (const r of rows) {
        out.push({
          due: new Date(r.ts.getTime() + offset),
          personId: r.person_id,
          edge: `trait ${path}+${offset}`,
        });
      }
    }
  }
  return out.sort((x, y) => x.due.getTime() - y.due.getTime() || x.personId.localeCompare(y.personId));
}

/**
 * The earliest time after `after` at which some edge falls due, or undefined when none will without new events.
 *
 * @example
 * const first = await earliestDue(wh, dependence, new Date()); // e.g. the end of the next abandonment's wait
 */
export async function earliestDue(
  wh: Warehouse,
  dependence: TimeDependence,
  after: Date,
): Promise<Date | undefined> {
  let best: number | undefined;
  const consider = (ts: Date | null, ms: number) => {
    if (ts && (best === undefined || ts.getTime() + ms < best)) best = ts.getTime() + ms;
  };
  const d = wh.dialect;
  for (const edge of dependence.edges) {
    const { ms } = edge;
    const p = new Params();
    const events = edgeEventTest(edge, 'ev', p);
    const [row] = await wh.query<{ ts: Date | null }>(
      `SELECT min(ev.ts) AS ts FROM person_events ev
       WHERE ev.ts > ${p.add(new Date(after.getTime() - ms))} AND ${d.plusMs('ev.ts', ms)} > ev.received_at${events === 'TRUE' ? '' : ` AND ${events}`}`,
      p.values,
    );
    consider(row?.ts ?? null, ms);
  }
  for (const { path, ms } of dependence.traitWindows) {
    for (const offset of [0, ms]) {
      const p = new Params();
      const at = d.parseTimestamp(d.jsonText('ev.traits', p.add(path)));
      const lo = p.add(new Date(after.getTime() - offset));
      const [row] = await wh.query<{ ts: Date | null }>(
        `SELECT min(t) AS ts FROM (SELECT ${at} AS t, ev.received_at FROM person_events ev WHERE ev.type = 'identify') x
         WHERE t > ${lo} AND ${d.plusMs('t', offset)} > received_at`,
        p.values,
      );
      consider(row?.ts ?? null, offset);
    }
  }
  return best === undefined ? undefined : new Date(best);
}

/**
 * The due-time queue: the edges falling due within a horizon after the last evaluation, earliest first. The stream
 * reads it from every event when the horizon passes, adds the edges of each new load's events (`add`), and takes what
 * has fallen due.
 *
 * @example
 * const queue = new DueQueue();
 * queue.fill(await dueEdges(wh, dependence, { after: asOf, until: new Date(asOf.getTime() + 3_600_000) }), until);
 * const next = queue.next(); // the earliest edge, or undefined
 */
export class DueQueue {
  private entries: DueEdge[] = [];
  /** The queue holds every edge due up to this time (and nothing is known beyond it). */
  horizon: Date | undefined;

  /** Replace the queue's entries with edges due up to `horizon`. */
  fill(edges: readonly DueEdge[], horizon: Date): void {
    this.entries = [...edges];
    this.horizon = horizon;
  }

  /** Add edges (of new events) due up to the horizon, in due order; an edge already held is kept once. */
  add(edges: readonly DueEdge[]): void {
    if (!edges.length) return;
    const key = (e: DueEdge) => `${e.due.getTime()} ${e.personId} ${e.edge}`;
    const held = new Set(this.entries.map(key));
    for (const e of edges) {
      const k = key(e);
      if (held.has(k)) continue;
      held.add(k);
      this.entries.push(e);
    }
    this.entries.sort((x, y) => x.due.getTime() - y.due.getTime() || x.personId.localeCompare(y.personId));
  }

  /** The earliest entry, if any. */
  next(): DueEdge | undefined {
    return this.entries[0];
  }

  /** Drop the entries due at or before `t` (an evaluation as of `t` has covered them). */
  dropUntil(t: Date): number {
    const i = this.entries.findIndex((e) => e.due.getTime() > t.getTime());
    const n = i === -1 ? this.entries.length : i;
    this.entries.splice(0, n);
    return n;
  }

  get size(): number {
    return this.entries.length;
  }
}
