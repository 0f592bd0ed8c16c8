import type { Warehouse } from '../engine/warehouse.js';

const DAY_MS = 86_400_000;

/**
 * Every "as of" defaults to now; with data that end months earlier, features, segments and reports then count no
 * recent activity and answer with zeros that look like findings. This says so: one sentence when the newest event is
 * more than a day before the time asked about (none when it is not, or when there are no events).
 */
export async function dataEndWarnings(wh: Warehouse, asOf: Date): Promise<string[]> {
  const [row] = await wh.query<{ last: Date | null }>('SELECT max(ts) AS last FROM events');
  const last = row?.last;
  if (!last || asOf.getTime() - last.getTime() <= DAY_MS) return [];
  const days = Math.floor((asOf.getTime() - last.getTime()) / DAY_MS);
  const day = last.toISOString().slice(0, 10);
  return [
    `the data end at ${last.toISOString()}, ${days} days before ${asOf.toISOString()}: recent-activity counts as of then are zero; pass --as-of ${day} (or a time within the data) to look at the data's last day`,
  ];
}
