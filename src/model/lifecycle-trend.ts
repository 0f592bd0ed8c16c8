import { z } from 'zod';
import type { Warehouse } from '../engine/warehouse.js';
import { Timestamp } from '../shared/timestamp.js';

/**
 * The Behaviour page's tiers: how many people were in each lifecycle stage at each of the last feature refreshes (the
 * trend), and the engagement, intent and adoption tiers at the latest one. Read from the stored feature rows (one
 * per person per refresh), so it costs one grouped scan of those refreshes and nothing on the events.
 */
export const LifecycleReportSchema = z
  .object({
    asOf: Timestamp.nullable().describe('the latest feature refresh; null before the first'),
    trend: z
      .array(z.object({ asOf: Timestamp, stage: z.string(), people: z.int() }))
      .describe('people per lifecycle stage at each of the last refreshes, oldest first'),
    tiers: z
      .array(
        z.object({
          feature: z.enum(['engagement.tier', 'intent.tier', 'adoption.tier']),
          tier: z.string(),
          people: z.int(),
        }),
      )
      .describe('people per tier at the latest refresh'),
  })
  .meta({ id: 'LifecycleReport' });
export type LifecycleReport = z.output<typeof LifecycleReportSchema>;

const TIER_COLUMNS = {
  'engagement.tier': 'engagement_tier',
  'intent.tier': 'intent_tier',
  'adoption.tier': 'adoption_tier',
} as const;

export async function lifecycleReport(
  wh: Warehouse,
  options: { refreshes?: number } = {},
): Promise<LifecycleReport> {
  // The refresh log names the as-of times, so the trend reads only those partitions of the feature rows.
  const refreshes = await wh.query<{ as_of: Date }>(
    'SELECT as_of FROM feature_refreshes ORDER BY as_of DESC LIMIT ?',
    [options.refreshes ?? 12],
  );
  if (refreshes.length === 0) return { asOf: null, trend: [], tiers: [] };
  const times = refreshes.map((r) => r.as_of);
  const latest = times[0]!;
  const trend = await wh.query<{ as_of: Date; stage: string | null; people: bigint }>(
    `SELECT as_of, lifecycle_stage AS stage, count(*) AS people FROM features
     WHERE as_of IN (${times.map(() => '?').join(', ')}) GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2`,
    times,
  );
  const tiers = await wh.query<{ feature: keyof typeof TIER_COLUMNS; tier: string | null; people: bigint }>(
    Object.entries(TIER_COLUMNS)
      .map(
        ([feature, column]) =>
          `SELECT '${feature}' AS feature, ${column} AS tier, count(*) AS people FROM features WHERE as_of = ? GROUP BY 1, 2`,
      )
      .join(' UNION ALL '),
    Object.keys(TIER_COLUMNS).map(() => latest),
  );
  return {
    asOf: latest,
    trend: trend.map((r) => ({ asOf: r.as_of, stage: r.stage ?? '(none)', people: Number(r.people) })),
    tiers: tiers
      .filter((t) => t.tier !== null)
      .map((t) => ({ feature: t.feature, tier: t.tier!, people: Number(t.people) }))
      .sort((a, b) => a.feature.localeCompare(b.feature) || b.people - a.people),
  };
}
