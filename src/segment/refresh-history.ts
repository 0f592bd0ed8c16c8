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

/**
 * The last segment evaluation: its as-of time and the last ingest batch it saw (the streaming evaluation starts its
 * feature updates from it), or undefined before the first.
 *
 * @example
 * const last = await lastEvaluation(wh); // { refreshId: 12, asOf: 2026-05-04T12:00:05Z, batch: 41 }
 */
export async function lastEvaluation(
  wh: Warehouse,
): Promise<{ refreshId: number; asOf: Date; batch: number } | undefined> {
  const [row] = await wh.query<{ refresh_id: bigint; as_of: Date; ingest_batch: bigint }>(
    'SELECT refresh_id, as_of, ingest_batch FROM segment_evaluations ORDER BY refresh_id DESC LIMIT 1',
  );
  return row
    ? { refreshId: Number(row.refresh_id), asOf: row.as_of, batch: Number(row.ingest_batch) }
    : undefined;
}

/**
 * Fold one refresh into a later one of the same segments, so that streaming, which refreshes several times a second,
 * leaves a row per segment per hour in the log rather than one per evaluation: the later refresh's rows take the
 * earlier one's entries and exits (the size is the later one's), and the earlier one's rows and evaluation go. The
 * change log keeps every change with its own refresh id. Returns false (and changes nothing) when the two refreshes
 * did not evaluate the same segments.
 *
 * @example
 * await foldRefresh(wh, { from: 41, into: 42 });
 */
export async function foldRefresh(wh: Warehouse, o: { from: number; into: number }): Promise<boolean> {
  return wh.transaction(async (tx) => {
    type Row = {
      refresh_id: bigint;
      segment: string;
      version: number;
      as_of: Date;
      size: bigint;
      entered: bigint;
      exited: bigint;
      refreshed_at: Date;
    };
    const rows = await tx.query<Row>(
      'SELECT * FROM segment_refreshes WHERE refresh_id IN (?, ?) ORDER BY segment',
      [o.from, o.into],
    );
    const from = rows.filter((r) => Number(r.refresh_id) === o.from);
    const into = rows.filter((r) => Number(r.refresh_id) === o.into);
    const same = from.length === into.length && from.every((r, i) => r.segment === into[i]!.segment);
    if (!same || !into.length) return false;
    await tx.run('DELETE FROM segment_refreshes WHERE refresh_id IN (?, ?)', [o.from, o.into]);
    for (const [i, r] of into.entries()) {
      await tx.run(
        `INSERT INTO segment_refreshes (refresh_id, segment, version, as_of, size, entered, exited, refreshed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          o.into,
          r.segment,
          r.version,
          r.as_of,
          Number(r.size),
          Number(r.entered) + Number(from[i]!.entered),
          Number(r.exited) + Number(from[i]!.exited),
          r.refreshed_at,
        ],
      );
    }
    await tx.run('DELETE FROM segment_evaluations WHERE refresh_id = ?', [o.from]);
    return true;
  });
}
