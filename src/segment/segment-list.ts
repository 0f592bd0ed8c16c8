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
            (SELECT count(*) FROM segment_memberships m WHERE m.segment = s.name AND m.exited_at IS NULL) AS size,
            (SELECT size FROM (SELECT size, row_number() OVER (ORDER BY refresh_id DESC) AS k
                               FROM segment_refreshes r WHERE r.segment = s.name) WHERE k = 2) AS previous
     FROM segments s WHERE s.active ORDER BY s.name`,
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
