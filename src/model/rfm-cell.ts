import type { Warehouse } from '../engine/warehouse.js';

/** The people in one cell of the RFM grid (recency score r, frequency score f) at the latest refresh. */
export interface RfmCellPerson {
  personId: string;
  monetary: number | null;
  group: string | null;
}

export async function rfmCellPeople(
  wh: Warehouse,
  cell: { r: number; f: number; limit?: number },
): Promise<{ asOf: Date | null; size: number; people: RfmCellPerson[] }> {
  const [latest] = await wh.query<{ as_of: Date | null }>('SELECT max(as_of) AS as_of FROM features');
  if (!latest?.as_of) return { asOf: null, size: 0, people: [] };
  const [count] = await wh.query<{ n: number }>(
    'SELECT count(*) AS n FROM features WHERE as_of = ? AND rfm_r = ? AND rfm_f = ?',
    [latest.as_of, cell.r, cell.f],
  );
  const rows = await wh.query<{ person_id: string; monetary: number | null; grp: string | null }>(
    `SELECT person_id, rfm_monetary_total AS monetary, rfm_group AS grp FROM features
     WHERE as_of = ? AND rfm_r = ? AND rfm_f = ? ORDER BY rfm_monetary_total DESC NULLS LAST, person_id LIMIT ?`,
    [latest.as_of, cell.r, cell.f, cell.limit ?? 50],
  );
  return {
    asOf: latest.as_of,
    size: Number(count?.n ?? 0),
    people: rows.map((r) => ({
      personId: r.person_id,
      monetary: r.monetary === null ? null : Number(r.monetary),
      group: r.grp,
    })),
  };
}
