import type { Warehouse } from '../engine/warehouse.js';

/**
 * The overview's figures over all events — events, people and revenue per day, buyers, the first and last event,
 * people and the identified share — from a small summary kept up to date from the events added since it last looked
 * (their ingest batch), instead of a scan of every event per page view. Each person's events, revenue and orders per
 * day (activity_person_days, one row per day and current person) make the distinct counts exact and incremental; the
 * days' totals (activity_days) are what a page reads. When events were deleted (a privacy request, a retention purge)
 * the summary is rebuilt from the events; when people merged, their rows move to the surviving person.
 */
export interface ActivitySummary {
  events: number;
  revenue: number;
  purchasers: number;
  firstEvent: Date | null;
  lastEvent: Date | null;
  persons: number;
  identifiedPersons: number;
}

/** What the summary knows beyond its tables (segflow_meta, key `activity_summary`): where it stands and its totals. */
interface SummaryState {
  /** The last ingest batch folded in, and how many events were stored then. */
  batch: number;
  events: number;
  revenue: number;
  purchasers: number;
  first: string | null;
  last: string | null;
  persons: number;
  identified: number;
}

const META_KEY = 'activity_summary';
const ORDER = `event = 'Order Completed'`;
/** One update at a time per database: concurrent page views wait for the same one. */
const updating = new WeakMap<Warehouse, Promise<SummaryState>>();

async function stored(wh: Warehouse): Promise<SummaryState | null> {
  const [row] = await wh.query<{ value: string }>('SELECT value FROM segflow_meta WHERE key = ?', [META_KEY]);
  return row ? (JSON.parse(row.value) as SummaryState) : null;
}

async function eventsNow(wh: Warehouse): Promise<{ batch: number; events: number }> {
  const [v] = await wh.query<{ batch: bigint | null; events: bigint }>(
    'SELECT max(ingest_batch) AS batch, count(*) AS events FROM events',
  );
  return { batch: Number(v?.batch ?? 0), events: Number(v?.events ?? 0) };
}

/**
 * The summary as of now: read as stored when no event was added or deleted since, else brought up to date first
 * (the events of the new ingest batches only, unless some were deleted).
 *
 * @example
 * const s = await activitySummary(wh);
 * console.log(`${s.events} events, ${s.persons} people (${s.identifiedPersons} identified), revenue ${s.revenue}`);
 */
export async function activitySummary(wh: Warehouse): Promise<ActivitySummary> {
  const state = await currentState(wh);
  return {
    events: state.events,
    revenue: Math.round(100 * state.revenue) / 100,
    purchasers: state.purchasers,
    firstEvent: state.first ? new Date(state.first) : null,
    lastEvent: state.last ? new Date(state.last) : null,
    persons: state.persons,
    identifiedPersons: state.identified,
  };
}

/**
 * Events, active people and revenue (completed orders) per day, for the `days` days up to the last event's day,
 * from the summary (brought up to date first).
 *
 * @example
 * const lastWeek = await dailyActivityOf(wh, { days: 7 }); // [{ day: '2026-01-01', events, people, revenue }, …]
 */
export async function dailyActivityOf(
  wh: Warehouse,
  options: { days?: number } = {},
): Promise<{ day: string; events: number; people: number; revenue: number }[]> {
  const state = await currentState(wh);
  if (!state.last) return [];
  const lastDay = new Date(state.last);
  lastDay.setUTCHours(0, 0, 0, 0);
  const from = new Date(lastDay.getTime() - ((options.days ?? 90) - 1) * 86_400_000);
  const rows = await wh.query<{ day: Date; events: bigint; people: bigint; revenue: number }>(
    'SELECT day, events, people, revenue FROM activity_days WHERE day >= ? ORDER BY day',
    [from],
  );
  return rows.map((r) => ({
    day: r.day.toISOString().slice(0, 10),
    events: Number(r.events),
    people: Number(r.people),
    revenue: Math.round(100 * r.revenue) / 100,
  }));
}

/**
 * How many people there are (canonical person ids), without writing anything (safe on a read-only database): from
 * the summary when it is up to date, else counted from the identity table.
 *
 * @example
 * const everyone = await personCount(wh);
 */
export async function personCount(wh: Warehouse): Promise<number> {
  const [state, now] = await Promise.all([stored(wh), eventsNow(wh)]);
  if (state && state.batch === now.batch && state.events === now.events) return state.persons;
  const [p] = await wh.query<{ n: bigint }>(
    'SELECT count(*) AS n FROM identities WHERE identifier = person_id',
  );
  return Number(p?.n ?? 0);
}

async function currentState(wh: Warehouse): Promise<SummaryState> {
  for (;;) {
    const running = updating.get(wh);
    if (running) {
      await running.catch(() => {});
      continue;
    }
    const [state, now] = await Promise.all([stored(wh), eventsNow(wh)]);
    if (state && state.batch === now.batch && state.events === now.events) return state;
    const update = wh.transaction((tx) => bringUpToDate(tx, state));
    updating.set(wh, update);
    try {
      return await update;
    } finally {
      updating.delete(wh);
    }
  }
}

/** The per-person-day row of each event group, with its person as the events resolve today. */
function personDays(wh: Warehouse, where: string): string {
  const d = wh.dialect;
  return `SELECT ${d.dayStart('ts')} AS day, person_id, count(*) AS events,
                 coalesce(${d.aggregateIf('sum(revenue)', ORDER)}, 0) AS revenue,
                 ${d.aggregateIf('count(*)', ORDER)} AS orders
          FROM person_events ${where} GROUP BY 1, 2`;
}

async function bringUpToDate(tx: Warehouse, previous: SummaryState | null): Promise<SummaryState> {
  const now = await eventsNow(tx);
  let since: number | null = null;
  if (previous) {
    const [added] = await tx.query<{ n: bigint }>('SELECT count(*) AS n FROM events WHERE ingest_batch > ?', [
      previous.batch,
    ]);
    // Nothing deleted since (every event then is still here): only the new batches need folding in.
    if (now.events === previous.events + Number(added?.n ?? 0)) since = previous.batch;
  }
  const add = (from: string) => ({
    table: 'activity_person_days',
    columns: ['day', 'person_id', 'events', 'revenue', 'orders'],
    key: ['day', 'person_id'],
    from: { select: `SELECT day, person_id, events, revenue, orders FROM ${from}` },
    update: (r: { current(c: string): string; incoming(c: string): string }) => ({
      events: `${r.current('events')} + ${r.incoming('events')}`,
      revenue: `${r.current('revenue')} + ${r.incoming('revenue')}`,
      orders: `${r.current('orders')} + ${r.incoming('orders')}`,
    }),
  });
  if (since === null) {
    await tx.run('DELETE FROM activity_person_days');
    await tx.run('DELETE FROM activity_days');
    await tx.run(
      `INSERT INTO activity_person_days (day, person_id, events, revenue, orders) ${personDays(tx, '')}`,
    );
    await tx.run(
      `INSERT INTO activity_days (day, events, people, revenue)
       SELECT day, sum(events), count(*), sum(revenue) FROM activity_person_days GROUP BY day`,
    );
  } else {
    const fresh = '_sf_activity_fresh';
    const moved = '_sf_activity_moved';
    await tx.storage.createScratch({
      name: fresh,
      select: personDays(tx, 'WHERE ingest_batch > ?'),
      params: [since],
    });
    await tx.storage.upsert(add(fresh));
    // People merged since: the rows of a merged-away person move to the one they resolve to now.
    await tx.storage.createScratch({
      name: moved,
      select: `SELECT r.day, r.person_id AS old_id, i.person_id, r.events, r.revenue, r.orders
               FROM activity_person_days r JOIN identities i ON i.identifier = r.person_id
               WHERE i.person_id <> r.person_id`,
    });
    await tx.run(
      `DELETE FROM activity_person_days WHERE EXISTS (
         SELECT 1 FROM ${moved} m WHERE m.day = activity_person_days.day AND m.old_id = activity_person_days.person_id)`,
    );
    await tx.storage.upsert(
      add(
        `(SELECT day, person_id, sum(events) AS events, sum(revenue) AS revenue, sum(orders) AS orders
          FROM ${moved} GROUP BY day, person_id)`,
      ),
    );
    const dirty = `(SELECT day FROM ${fresh} UNION SELECT day FROM ${moved})`;
    await tx.run(`DELETE FROM activity_days WHERE day IN ${dirty}`);
    await tx.run(
      `INSERT INTO activity_days (day, events, people, revenue)
       SELECT day, sum(events), count(*), sum(revenue) FROM activity_person_days
       WHERE day IN ${dirty} GROUP BY day`,
    );
    await tx.storage.dropScratch(fresh);
    await tx.storage.dropScratch(moved);
  }
  const [t] = await tx.query<{
    revenue: number | null;
    purchasers: bigint;
    first: Date | null;
    last: Date | null;
  }>(
    `SELECT (SELECT sum(revenue) FROM activity_days) AS revenue,
            (SELECT count(DISTINCT person_id) FROM activity_person_days WHERE orders > 0) AS purchasers,
            (SELECT min(ts) FROM events) AS first, (SELECT max(ts) FROM events) AS last`,
  );
  // A person's canonical id is one of their identifiers (a userId when they have one): one row each.
  const [p] = await tx.query<{ persons: bigint; identified: bigint }>(
    `SELECT count(*) AS persons, ${tx.dialect.aggregateIf('count(*)', 'is_user')} AS identified
     FROM identities WHERE identifier = person_id`,
  );
  const state: SummaryState = {
    ...now,
    revenue: Number(t?.revenue ?? 0),
    purchasers: Number(t?.purchasers ?? 0),
    first: t?.first?.toISOString() ?? null,
    last: t?.last?.toISOString() ?? null,
    persons: Number(p?.persons ?? 0),
    identified: Number(p?.identified ?? 0),
  };
  await tx.storage.upsert({
    table: 'segflow_meta',
    columns: ['key', 'value'],
    key: ['key'],
    from: { rows: [[META_KEY, JSON.stringify(state)]] },
    update: ['value'],
  });
  return state;
}
