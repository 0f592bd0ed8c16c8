import type { Warehouse } from '../engine/warehouse.js';
import type { SegmentDefinition } from './definition.js';

/** The segments as stored by the last refresh: who reads them (label, owner, tags), their size now and before. */
export interface SegmentListing {
  name: string;
  label: string | null;
  description: string | null;
  owner: string | null;
  tags: string[];
  version: number;
  source: string | null;
  updatedAt: Date;
  size: number;
  /** Size at the refresh before the last one; null before a second refresh. */
  previousSize: number | null;
  definition: SegmentDefinition;
}

export async function listSegments(wh: Warehouse): Promise<SegmentListing[]> {
  const rows = await wh.query<{
    name: string;
    version: number;
    definition: string;
    source: string | null;
    updated_at: Date;
    size: number;
    previous: number | null;
  }>(
    `SELECT s.name, s.version, CAST(s.definition AS VARCHAR) AS definition, s.source, s.updated_at,
            coalesce(m.size, 0) AS size, p.size AS previous
     FROM segments s
     LEFT JOIN (SELECT segment, count(*) AS size FROM segment_memberships WHERE exited_at IS NULL GROUP BY segment) m
       ON m.segment = s.name
     LEFT JOIN (SELECT segment, size FROM (
                  SELECT segment, size, row_number() OVER (PARTITION BY segment ORDER BY refresh_id DESC) AS k
                  FROM segment_refreshes) WHERE k = 2) p
       ON p.segment = s.name
     WHERE s.active ORDER BY s.name`,
  );
  return rows.map((r) => {
    const definition = JSON.parse(r.definition) as SegmentDefinition;
    return {
      name: r.name,
      label: definition.label ?? null,
      description: definition.description ?? null,
      owner: definition.owner ?? null,
      tags: definition.tags ?? [],
      version: Number(r.version),
      source: r.source,
      updatedAt: r.updated_at,
      size: Number(r.size),
      previousSize: r.previous === null ? null : Number(r.previous),
      definition,
    };
  });
}
