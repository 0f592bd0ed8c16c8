import type { Warehouse } from '../engine/warehouse.js';

/** What the refreshes did: the last few turns of the loop overall, and one segment's size, entries and exits. */
export interface RefreshTurn {
  refreshId: number;
  asOf: Date;
  segments: number;
  entered: number;
  exited: number;
}

export async function recentRefreshes(
  wh: Warehouse,
  options: { limit?: number } = {},
): Promise<RefreshTurn[]> {
  const rows = await wh.query<{
    refresh_id: number;
    as_of: Date;
    segments: number;
    entered: number;
    exited: number;
  }>(
    `SELECT refresh_id, max(as_of) AS as_of, count(*) AS segments, sum(entered) AS entered, sum(exited) AS exited
     FROM segment_refreshes GROUP BY refresh_id ORDER BY refresh_id DESC LIMIT ?`,
    [options.limit ?? 10],
  );
  return rows.map((r) => ({
    refreshId: Number(r.refresh_id),
    asOf: r.as_of,
    segments: Number(r.segments),
    entered: Number(r.entered),
    exited: Number(r.exited),
  }));
}

export async function segmentHistory(
  wh: Warehouse,
  name: string,
  options: { limit?: number } = {},
): Promise<{ asOf: Date; version: number; size: number; entered: number; exited: number }[]> {
  const rows = await wh.query<{
    as_of: Date;
    version: number;
    size: number;
    entered: number;
    exited: number;
  }>(
    `SELECT as_of, version, size, entered, exited FROM (
       SELECT *, row_number() OVER (ORDER BY refresh_id DESC) AS k FROM segment_refreshes WHERE segment = ?)
     WHERE k <= ? ORDER BY as_of`,
    [name, options.limit ?? 30],
  );
  return rows.map((r) => ({
    asOf: r.as_of,
    version: Number(r.version),
    size: Number(r.size),
    entered: Number(r.entered),
    exited: Number(r.exited),
  }));
}
