import type { Warehouse } from '../engine/warehouse.js';
import { type ActivitySummary, activitySummary, dailyActivityOf } from './activity-summary.js';

/**
 * Activity over time for the overview: events, active people and revenue per day over the last days of data, and why
 * events were rejected.
 */
export interface DailyActivity {
  day: string;
  events: number;
  people: number;
  revenue: number;
}

/** Events, active people and revenue per day over the last `days` days of data (from the activity summary). */
export async function dailyActivity(
  wh: Warehouse,
  options: { days?: number } = {},
): Promise<DailyActivity[]> {
  return dailyActivityOf(wh, options);
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
  const d = wh.dialect;
  const [row] = await wh.query<{ minute: bigint; hour: bigint; last: Date | null }>(
    `SELECT ${d.aggregateIf('count(*)', 'received_at > ?')} AS minute, ${d.aggregateIf('count(*)', 'received_at > ?')} AS hour,
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
 * The overview's totals: events, revenue and buyers (completed orders), the first and last event, people with the
 * identified share (from the activity summary, not a scan of the events), and the rejected events.
 */
export async function overviewTotals(wh: Warehouse): Promise<ActivitySummary & { rejected: number }> {
  const [r] = await wh.query<{ n: bigint }>('SELECT count(*) AS n FROM rejected_events');
  return { ...(await activitySummary(wh)), rejected: Number(r?.n ?? 0) };
}
