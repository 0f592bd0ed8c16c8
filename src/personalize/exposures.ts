import { z } from 'zod';
import { durationMs } from '../config/duration.js';
import type { SqlValue, Warehouse } from '../engine/warehouse.js';
import { Timestamp } from '../shared/timestamp.js';

/**
 * Exposures of plays served by decide() (in-app plays: no destination). An exposure says "this person was decided
 * about in this arm at this time"; the first one per person and play starts their measurement window
 * (measure-report.ts). Activation records its own for plays with a destination (activate-run.ts).
 *
 * Repeated decisions must not inflate anything, so a person gets one exposure per play per *episode*, and the
 * episode follows the play's re-entry policy:
 * - `once`: one exposure ever;
 * - `every_time`: one per entry into the play's segment (a new membership is a new episode);
 * - `at_most_once_per: W`: a new one only when the last was more than W ago.
 * Each exposure's idempotency key names its episode, so writing it twice (a retry, a replayed log) stores it once.
 */
export const ExposureSchema = z
  .object({
    play: z.string(),
    personId: z.string(),
    arm: z.enum(['treatment', 'holdout']),
    variant: z.string().nullable(),
    exposedAt: Timestamp,
    /** `decide:<play>:<person>[:<episode start ms>]`: the same episode always gives the same key. */
    key: z.string(),
  })
  .meta({ id: 'Exposure' });
export type Exposure = z.infer<typeof ExposureSchema>;

export type ReEntryPolicy = 'once' | 'every_time' | { at_most_once_per: string };

/**
 * The exposure key for a decision at `at`, or null when this episode already has one.
 * `lastAt` is this person's last decide() exposure to the play; `enteredAt` when their current membership of the
 * play's segment began.
 */
export function exposureKey(o: {
  play: string;
  personId: string;
  policy: ReEntryPolicy;
  at: Date;
  lastAt: Date | null | undefined;
  enteredAt: Date | null | undefined;
}): string | null {
  const base = `decide:${o.play}:${o.personId}`;
  const last = o.lastAt?.getTime();
  if (o.policy === 'once') return last === undefined ? base : null;
  if (o.policy === 'every_time') {
    const entered = o.enteredAt?.getTime() ?? 0;
    return last !== undefined && last >= entered ? null : `${base}:${entered}`;
  }
  const window = durationMs(o.policy.at_most_once_per);
  return last !== undefined && last > o.at.getTime() - window ? null : `${base}:${o.at.getTime()}`;
}

/** Each person's last decide() exposure per play: `Map<person, Map<play, time>>`. */
export async function lastExposures(
  wh: Warehouse,
  personId?: string,
): Promise<Map<string, Map<string, Date>>> {
  const rows = await wh.query<{ person_id: string; play: string; at: Date }>(
    `SELECT person_id, play, max(exposed_at) AS at FROM exposures
     WHERE idempotency_key LIKE 'decide:%' ${personId === undefined ? '' : 'AND person_id = ?'}
     GROUP BY person_id, play`,
    personId === undefined ? [] : [personId],
  );
  const out = new Map<string, Map<string, Date>>();
  for (const r of rows) {
    let m = out.get(r.person_id);
    if (!m) {
      m = new Map();
      out.set(r.person_id, m);
    }
    m.set(r.play, r.at);
  }
  return out;
}

/**
 * Store exposures; one already stored (same key) is left as it is. Returns how many were new. `meta` is a
 * segflow_meta entry set in the same transaction (the exposure log's loaded position).
 */
export async function writeExposures(
  wh: Warehouse,
  exposures: readonly Exposure[],
  meta?: { key: string; value: string },
): Promise<number> {
  if (exposures.length === 0 && !meta) return 0;
  const rows: SqlValue[][] = exposures.map((e) => [e.play, e.personId, e.arm, e.variant, e.exposedAt, e.key]);
  return wh.transaction(async (tx) => {
    const [before] = await tx.query<{ n: number }>('SELECT count(*) AS n FROM exposures');
    await tx.storage.upsert({
      table: 'exposures',
      columns: ['play', 'person_id', 'arm', 'variant', 'exposed_at', 'idempotency_key'],
      key: ['idempotency_key'],
      from: { rows },
    });
    if (meta) {
      await tx.storage.upsert({
        table: 'segflow_meta',
        columns: ['key', 'value'],
        key: ['key'],
        from: { rows: [[meta.key, meta.value]] },
        update: ['value'],
      });
    }
    const [after] = await tx.query<{ n: number }>('SELECT count(*) AS n FROM exposures');
    return Number(after?.n ?? 0) - Number(before?.n ?? 0);
  });
}

/** Exposures as one line of text each (the server's exposure log) and back. */
export function exposureToRecord(e: Exposure): string {
  return JSON.stringify([e.play, e.personId, e.arm, e.variant, e.exposedAt.getTime(), e.key]);
}

export function exposureFromRecord(line: string): Exposure {
  const [play, personId, arm, variant, at, key] = JSON.parse(line) as [
    string,
    string,
    'treatment' | 'holdout',
    string | null,
    number,
    string,
  ];
  return { play, personId, arm, variant, exposedAt: new Date(at), key };
}
