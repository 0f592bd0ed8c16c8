import { z } from 'zod';
import type { Warehouse } from '../engine/warehouse.js';
import { personCount } from '../instrument/activity-summary.js';
import { Timestamp } from '../shared/timestamp.js';

/**
 * The over-segmentation check: every active segment's size now and over past refreshes, how much the segments
 * overlap (Jaccard: people in both / people in either), and warnings for segments that are empty, tiny (below
 * `tinyShare` of everyone) or near-duplicates of another (overlap above `duplicateOverlap`).
 */
export const SegmentReportSchema = z
  .object({
    population: z.number().describe('people with features at the last refresh'),
    segments: z.array(
      z.object({
        name: z.string(),
        version: z.number(),
        size: z.number(),
        share: z.number().describe('size / population'),
        trend: z
          .array(z.object({ asOf: Timestamp, size: z.number() }))
          .describe('sizes at past refreshes, oldest first'),
      }),
    ),
    overlap: z.array(z.object({ a: z.string(), b: z.string(), both: z.number(), jaccard: z.number() })),
    warnings: z.array(
      z.object({
        segment: z.string(),
        kind: z.enum(['empty', 'tiny', 'near-duplicate']),
        message: z.string(),
      }),
    ),
  })
  .meta({ id: 'SegmentReport' });
export type SegmentReport = z.output<typeof SegmentReportSchema>;

interface MembershipCounts {
  segments: { name: string; version: number; size: number }[];
  overlap: { a: string; b: string; both: number }[];
}

/**
 * Each active segment's size and the people in each pair of segments, kept until memberships change (a refresh, a
 * retirement, a deletion): the pairs join every membership with every other of the same person (seconds on a big
 * database), while the Segments and Govern pages ask for them on every view.
 */
const counted = new WeakMap<Warehouse, { version: string; counts: Promise<MembershipCounts> }>();

async function membershipCounts(wh: Warehouse): Promise<MembershipCounts> {
  const [v] = await wh.query<{ refresh: bigint | null; rows: bigint }>(
    `SELECT (SELECT max(refresh_id) FROM segment_refreshes) AS refresh,
            (SELECT count(*) FROM segment_memberships) AS rows`,
  );
  const active = await wh.query<{ name: string; version: number }>(
    'SELECT name, version FROM segments WHERE active ORDER BY name',
  );
  const version = JSON.stringify([String(v?.refresh), String(v?.rows), active]);
  const held = counted.get(wh);
  if (held?.version === version) return held.counts;
  const counts = (async (): Promise<MembershipCounts> => {
    const sizes = await wh.query<{ segment: string; size: bigint }>(
      `SELECT segment, count(*) AS size FROM segment_memberships WHERE exited_at IS NULL GROUP BY segment`,
    );
    const sizeOf = new Map(sizes.map((r) => [r.segment, Number(r.size)]));
    const overlap = await wh.query<{ a: string; b: string; both: bigint }>(
      `WITH m AS (SELECT segment, person_id FROM segment_memberships WHERE exited_at IS NULL
                  AND segment IN (SELECT name FROM segments WHERE active))
       SELECT x.segment AS a, y.segment AS b, count(*) AS both FROM m x JOIN m y ON x.person_id = y.person_id AND x.segment < y.segment
       GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    return {
      segments: active.map((s) => ({
        name: s.name,
        version: Number(s.version),
        size: sizeOf.get(s.name) ?? 0,
      })),
      overlap: overlap.map((o) => ({ a: o.a, b: o.b, both: Number(o.both) })),
    };
  })();
  counted.set(wh, { version, counts });
  // A failed count is not kept: the next request asks again.
  counts.catch(() => {
    if (counted.get(wh)?.counts === counts) counted.delete(wh);
  });
  return counts;
}

export async function segmentReport(
  wh: Warehouse,
  options: { tinyShare?: number; duplicateOverlap?: number; trendPoints?: number } = {},
): Promise<SegmentReport> {
  const tinyShare = options.tinyShare ?? 0.001;
  const duplicateOverlap = options.duplicateOverlap ?? 0.9;
  // Read-only: the report also runs on a database opened read-only (`segflow segments report`).
  const population = await personCount(wh);
  const { segments, overlap } = await membershipCounts(wh);
  const trend = await wh.query<{ segment: string; as_of: Date; size: number }>(
    `SELECT segment, as_of, size FROM (
       SELECT segment, as_of, size, row_number() OVER (PARTITION BY segment ORDER BY refresh_id DESC) AS k FROM segment_refreshes)
     WHERE k <= ? ORDER BY segment, as_of`,
    [options.trendPoints ?? 12],
  );
  const sizeOf = new Map(segments.map((s) => [s.name, Number(s.size)]));
  const pairs = overlap.map((o) => {
    const both = Number(o.both);
    const either = (sizeOf.get(o.a) ?? 0) + (sizeOf.get(o.b) ?? 0) - both;
    return { a: o.a, b: o.b, both, jaccard: either ? both / either : 0 };
  });
  const warnings: SegmentReport['warnings'] = [];
  for (const s of segments) {
    const size = Number(s.size);
    if (size === 0) {
      warnings.push({
        segment: s.name,
        kind: 'empty',
        message: `${s.name} has no members: check its conditions, or retire it`,
      });
    } else if (population > 0 && size / population < tinyShare) {
      warnings.push({
        segment: s.name,
        kind: 'tiny',
        message: `${s.name} holds ${size} of ${population} people (${((100 * size) / population).toFixed(2)}%), below ${(100 * tinyShare).toFixed(2)}%: too small to act on or to measure`,
      });
    }
  }
  for (const p of pairs) {
    if (p.jaccard > duplicateOverlap) {
      warnings.push({
        segment: p.a,
        kind: 'near-duplicate',
        message: `${p.a} and ${p.b} overlap ${(100 * p.jaccard).toFixed(1)}% (Jaccard): merge them, or tell them apart`,
      });
    }
  }
  return {
    population,
    segments: segments.map((s) => ({
      name: s.name,
      version: Number(s.version),
      size: Number(s.size),
      share: population ? Number(s.size) / population : 0,
      trend: trend.filter((t) => t.segment === s.name).map((t) => ({ asOf: t.as_of, size: Number(t.size) })),
    })),
    overlap: pairs,
    warnings,
  };
}
