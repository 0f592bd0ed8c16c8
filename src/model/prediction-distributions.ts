import { z } from 'zod';
import type { Warehouse } from '../engine/warehouse.js';
import { Timestamp } from '../shared/timestamp.js';

/**
 * How the latest scoring (`segflow models score`, table `predictions`) spreads over the customers: P(alive) in 20
 * equal bins of [0, 1], and CLV in 20 equal bins up to its 99th percentile (the 1% above it in the last bin, so a
 * few whales do not squash every other bar into one). Counted in the database; one row per bin comes back.
 */
const BinSchema = z.object({
  from: z.number(),
  to: z.number().describe('upper bound (exclusive, except the last bin, which holds everything above)'),
  people: z.int(),
});
export const PredictionDistributionsSchema = z
  .object({
    asOf: Timestamp.nullable().describe('the latest scoring; null before the first'),
    people: z.int(),
    pAlive: z.array(BinSchema),
    meanPAlive: z.number().nullable(),
    clv: z.array(BinSchema).describe('empty when scored without a Gamma-Gamma fit'),
    clvHorizon: z.string().nullable(),
    totalClv: z.number().nullable(),
  })
  .meta({ id: 'PredictionDistributions' });
export type PredictionDistributions = z.output<typeof PredictionDistributionsSchema>;

const BINS = 20;

export async function predictionDistributions(wh: Warehouse): Promise<PredictionDistributions> {
  const [latest] = await wh.query<{
    as_of: Date | null;
    people: bigint;
    mean_alive: number | null;
    total_clv: number | null;
    clv_people: bigint;
    horizon: string | null;
  }>(
    `SELECT as_of, count(*) AS people, avg(p_alive) AS mean_alive, sum(clv) AS total_clv, count(clv) AS clv_people,
            max(clv_horizon) AS horizon
     FROM predictions WHERE as_of = (SELECT max(as_of) FROM predictions) GROUP BY as_of`,
  );
  if (!latest?.as_of) {
    return {
      asOf: null,
      people: 0,
      pAlive: [],
      meanPAlive: null,
      clv: [],
      clvHorizon: null,
      totalClv: null,
    };
  }
  const asOf = latest.as_of;
  const alive = await wh.query<{ bin: number; people: bigint }>(
    `SELECT least(CAST(floor(p_alive * ${BINS}) AS INTEGER), ${BINS - 1}) AS bin, count(*) AS people
     FROM predictions WHERE as_of = ? AND p_alive IS NOT NULL GROUP BY 1 ORDER BY 1`,
    [asOf],
  );
  const pAlive = fill(
    alive,
    (k) => k / BINS,
    (k) => (k + 1) / BINS,
  );
  let clv: PredictionDistributions['clv'] = [];
  const clvPeople = Number(latest.clv_people);
  if (clvPeople > 0) {
    // The 99th percentile by position (standard SQL): the value with 1% of the scored people above it.
    const [top] = await wh.query<{ clv: number }>(
      'SELECT clv FROM predictions WHERE as_of = ? AND clv IS NOT NULL ORDER BY clv LIMIT 1 OFFSET ?',
      [asOf, Math.min(clvPeople - 1, Math.floor(0.99 * clvPeople))],
    );
    const high = Math.max(Number(top?.clv ?? 0), 1e-9);
    const rows = await wh.query<{ bin: number; people: bigint }>(
      `SELECT least(CAST(floor(greatest(clv, 0) / ? * ${BINS}) AS INTEGER), ${BINS - 1}) AS bin, count(*) AS people
       FROM predictions WHERE as_of = ? AND clv IS NOT NULL GROUP BY 1 ORDER BY 1`,
      [high, asOf],
    );
    clv = fill(
      rows,
      (k) => (k * high) / BINS,
      (k) => ((k + 1) * high) / BINS,
    );
  }
  return {
    asOf,
    people: Number(latest.people),
    pAlive,
    meanPAlive: latest.mean_alive === null ? null : Number(latest.mean_alive),
    clv,
    clvHorizon: latest.horizon,
    totalClv: latest.total_clv === null ? null : Number(latest.total_clv),
  };
}

/** Every bin, empty ones included, so a chart's bars sit where they belong. */
function fill(
  rows: { bin: number; people: bigint }[],
  from: (k: number) => number,
  to: (k: number) => number,
): { from: number; to: number; people: number }[] {
  const byBin = new Map(rows.map((r) => [Number(r.bin), Number(r.people)]));
  return Array.from({ length: BINS }, (_, k) => ({ from: from(k), to: to(k), people: byBin.get(k) ?? 0 }));
}
