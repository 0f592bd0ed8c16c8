import { z } from 'zod';
import type { Warehouse } from '../engine/warehouse.js';
import { type KpiDefinition, kpiByName, measureConfig } from '../measure/kpi.js';
import { measureReport } from '../measure/measure-report.js';
import { segmentReport } from '../segment/segment-report.js';
import { Timestamp } from '../shared/timestamp.js';

/**
 * The monthly segment review: for every active segment, its size and trend, its overlap with the others, when its
 * definition last changed, and the measured lift of the plays that target it — and a recommendation (keep, merge,
 * retire) with its reasons: retire what is empty or tiny, or whose plays have had enough exposure and show no lift;
 * merge near-duplicates.
 */
export const SegmentReviewSchema = z
  .object({
    segment: z.string(),
    size: z.number(),
    share: z.number(),
    trend: z.array(z.object({ asOf: Timestamp, size: z.number() })),
    lastChanged: Timestamp.nullable(),
    version: z.number(),
    overlaps: z.array(z.object({ segment: z.string(), jaccard: z.number() })),
    plays: z.array(
      z.object({
        play: z.string(),
        kpi: z.string(),
        exposed: z.number(),
        lift: z.number().nullable(),
        ci: z.tuple([z.number(), z.number()]).nullable(),
        pValue: z.number().nullable(),
      }),
    ),
    recommendation: z.enum(['keep', 'merge', 'retire']),
    reasons: z.array(z.string()),
  })
  .meta({ id: 'SegmentReview' });
export type SegmentReview = z.output<typeof SegmentReviewSchema>;

export interface ReviewOptions {
  asOf?: Date;
  /** Below this share of all people a segment is tiny (default 0.001). */
  tinyShare?: number;
  /** At or above this Jaccard overlap two segments are near-duplicates (default 0.9). */
  duplicateOverlap?: number;
  /** A play with at least this many people exposed has had its chance (default 200). */
  minExposure?: number;
  /** KPI definitions (default: measure.kpis and the built-in ones). */
  kpis?: (name: string) => KpiDefinition;
}

export async function reviewSegments(wh: Warehouse, o: ReviewOptions = {}): Promise<SegmentReview[]> {
  const tinyShare = o.tinyShare ?? 0.001;
  const duplicate = o.duplicateOverlap ?? 0.9;
  const minExposure = o.minExposure ?? 200;
  const kpiOf = o.kpis ?? ((name: string) => kpiByName(measureConfig({}), name));
  const report = await segmentReport(wh, { tinyShare, duplicateOverlap: duplicate });
  const changed = new Map(
    (
      await wh.query<{ name: string; updated_at: Date }>('SELECT name, updated_at FROM segments WHERE active')
    ).map((r) => [r.name, r.updated_at]),
  );
  const plays = await wh.query<{ name: string; definition: string }>('SELECT name, definition FROM plays');
  const reviews: SegmentReview[] = [];
  for (const s of report.segments) {
    const overlaps = report.overlap
      .filter((p) => p.a === s.name || p.b === s.name)
      .map((p) => ({ segment: p.a === s.name ? p.b : p.a, jaccard: p.jaccard }))
      .sort((a, b) => b.jaccard - a.jaccard);
    const review: SegmentReview = {
      segment: s.name,
      size: s.size,
      share: s.share,
      trend: s.trend,
      lastChanged: changed.get(s.name) ?? null,
      version: s.version,
      overlaps,
      plays: [],
      recommendation: 'keep',
      reasons: [],
    };
    for (const p of plays) {
      const def = JSON.parse(p.definition) as { segment?: string; kpi?: string; holdout?: number };
      if (def.segment !== s.name) continue;
      const kpi = def.kpi ?? 'conversion_rate';
      const [exposed] = await wh.query<{ n: number }>(
        'SELECT count(DISTINCT person_id) AS n FROM exposures WHERE play = ?',
        [p.name],
      );
      const entry: SegmentReview['plays'][number] = {
        play: p.name,
        kpi,
        exposed: Number(exposed?.n ?? 0),
        lift: null,
        ci: null,
        pValue: null,
      };
      if (entry.exposed > 0) {
        try {
          const r = await measureReport(wh, {
            play: p.name,
            kpis: [{ name: kpi, definition: kpiOf(kpi) }],
            ...(o.asOf ? { asOf: o.asOf } : {}),
          });
          const row = r.rows[0];
          const est = (row?.cuped ?? row?.lift)?.absolute;
          if (est) {
            entry.lift = est.estimate;
            entry.ci = [est.ci.lower, est.ci.upper];
            entry.pValue = est.pValue;
          }
        } catch {
          // A play whose KPI cannot be read yet has no lift to judge.
        }
      }
      review.plays.push(entry);
    }
    // Recommendation, most decisive first.
    if (s.size === 0) {
      review.recommendation = 'retire';
      review.reasons.push('empty: nobody is in it');
    } else if (s.share < tinyShare) {
      review.recommendation = 'retire';
      review.reasons.push(
        `tiny: ${s.size} people, ${(100 * s.share).toFixed(3)}% of everyone (below ${100 * tinyShare}%)`,
      );
    }
    const twin = overlaps.find((x) => x.jaccard >= duplicate);
    if (twin && review.recommendation === 'keep') {
      review.recommendation = 'merge';
      review.reasons.push(
        `near-duplicate of ${twin.segment}: ${(100 * twin.jaccard).toFixed(1)}% overlap (Jaccard ≥ ${100 * duplicate}%)`,
      );
    }
    const judged = review.plays.filter((p) => p.exposed >= minExposure && p.ci);
    const noLift = judged.filter((p) => p.ci![0] <= 0 && p.ci![1] >= 0);
    if (judged.length > 0 && noLift.length === judged.length && review.recommendation === 'keep') {
      review.recommendation = 'retire';
      review.reasons.push(
        `no lift: ${noLift.map((p) => `${p.play} (${p.exposed} exposed, ${p.kpi} lift ${p.lift!.toFixed(4)}, 95% CI ${p.ci![0].toFixed(4)} to ${p.ci![1].toFixed(4)})`).join('; ')}`,
      );
    }
    if (review.recommendation === 'keep') {
      review.reasons.push(
        judged.length
          ? `its plays show lift: ${judged
              .filter((p) => !noLift.includes(p))
              .map((p) => `${p.play} ${p.lift!.toFixed(4)}`)
              .join(', ')}`
          : 'in use, distinct from the others, no play has enough exposure to judge yet',
      );
    }
    reviews.push(review);
  }
  return reviews;
}

/** Retire a segment: it stops being evaluated; its membership history stays. */
export async function retireSegment(wh: Warehouse, name: string, at = new Date()): Promise<boolean> {
  return (
    (await wh.run('UPDATE segments SET active = FALSE, retired_at = ? WHERE name = ? AND active', [
      at,
      name,
    ])) > 0
  );
}
