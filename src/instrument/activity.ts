import type { Warehouse } from '../engine/warehouse.js';

/**
 * Activity over time for the overview: events, active people and revenue per day over the last days of data, and why
 * events were rejected.
 */
/**
 * Where a whole-population read finds events with their person: `events` itself (its stored person id) while no
 * identity merge waits to be squashed, `person_events` (which applies the pending ones) otherwise — as the refresh
 * reads them.
 */
async function eventsWithPersons(wh: Warehouse): Promise<'events' | 'person_events'> {
  const [pending] = await wh.query<{ n: bigint }>('SELECT count(*) AS n FROM person_overrides');
  return Number(pending?.n ?? 0) === 0 ? 'events' : 'person_events';
}

export interface DailyActivity {
  day: string;
  events: number;
  people: number;
  revenue: number;
}

export async function dailyActivity(
  wh: Warehouse,
  options: { days?: number } = {},
): Promise<DailyActivity[]> {
  const d = wh.dialect;
  const [last] = await wh.query<{ ts: Date | null }>('SELECT max(ts) AS ts FROM events');
  if (!last?.ts) return [];
  const since = new Date(last.ts.getTime() - (options.days ?? 90) * 86_400_000);
  const rows = await wh.query<{ day: unknown; events: number; people: number; revenue: number | null }>(
    `SELECT ${d.isoText(d.dayOf('ts'))} AS day, count(*) AS events, count(DISTINCT person_id) AS people,
            sum(revenue) FILTER (WHERE event = 'Order Completed') AS revenue
     FROM ${await eventsWithPersons(wh)} WHERE ts > ? GROUP BY 1 ORDER BY 1`,
    [since],
  );
  return rows.map((r) => ({
    day: String(r.day).slice(0, 10),
    events: Number(r.events),
    people: Number(r.people),
    revenue: Math.round(100 * Number(r.revenue ?? 0)) / 100,
  }));
}

/** The most common first problem of rejected events, with how many rows had it. */
export async function rejectionReasons(
  wh: Warehouse,
  options: { limit?: number } = {},
): Promise<{ reason: string; events: number }[]> {
  const rows = await wh.query<{ reason: string | null; events: number }>(
    `SELECT ${wh.dialect.jsonText('problems', "'$[0]'")} AS reason, count(*) AS events FROM rejected_events
     GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?`,
    [options.limit ?? 10],
  );
  return rows.map((r) => ({ reason: r.reason ?? '(no reason recorded)', events: Number(r.events) }));
}

/**
 * Events stored in the last minute and the last hour by when they were received (any source), for the collector's
 * health on the overview: events per second over each window.
 */
export async function intakeRate(
  wh: Warehouse,
  options: { now?: Date } = {},
): Promise<{ lastMinute: number; lastHour: number; lastReceived: Date | null }> {
  const now = options.now ?? new Date();
  const [row] = await wh.query<{ minute: bigint; hour: bigint; last: Date | null }>(
    `SELECT count(*) FILTER (WHERE received_at > ?) AS minute, count(*) FILTER (WHERE received_at > ?) AS hour,
            max(received_at) AS last
     FROM events WHERE received_at > ?`,
    [
      new Date(now.getTime() - 60_000),
      new Date(now.getTime() - 3_600_000),
      new Date(now.getTime() - 3_600_000),
    ],
  );
  return {
    lastMinute: Number(row?.minute ?? 0),
    lastHour: Number(row?.hour ?? 0),
    lastReceived: row?.last ?? null,
  };
}

/**
 * The overview's totals: events, revenue and buyers (completed orders), the first and last event, and people with the
 * identified share — counted from the identity table, not the `persons` view, which aggregates every person's
 * activity, traits and consent first.
 */
export async function overviewTotals(wh: Warehouse): Promise<{
  events: number;
  revenue: number;
  purchasers: number;
  firstEvent: Date | null;
  lastEvent: Date | null;
  persons: number;
  identifiedPersons: number;
  rejected: number;
}> {
  const [t] = await wh.query<{
    events: bigint;
    revenue: number | null;
    purchasers: bigint;
    first: Date | null;
    last: Date | null;
  }>(
    `SELECT count(*) AS events, round(sum(revenue) FILTER (WHERE event = 'Order Completed'), 2) AS revenue,
            count(DISTINCT person_id) FILTER (WHERE event = 'Order Completed') AS purchasers,
            min(ts) AS first, max(ts) AS last FROM ${await eventsWithPersons(wh)}`,
  );
  const [p] = await wh.query<{ persons: bigint; identified: bigint; rejected: bigint }>(
    `SELECT count(DISTINCT person_id) AS persons, count(DISTINCT person_id) FILTER (WHERE is_user) AS identified,
            (SELECT count(*) FROM rejected_events) AS rejected FROM identities`,
  );
  return {
    events: Number(t?.events ?? 0),
    revenue: Number(t?.revenue ?? 0),
    purchasers: Number(t?.purchasers ?? 0),
    firstEvent: t?.first ?? null,
    lastEvent: t?.last ?? null,
    persons: Number(p?.persons ?? 0),
    identifiedPersons: Number(p?.identified ?? 0),
    rejected: Number(p?.rejected ?? 0),
  };
}
