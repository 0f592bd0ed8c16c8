import type { Warehouse } from '../engine/warehouse.js';

/**
 * Privacy requests and their erasure from storage. A delete removes the person's rows at once; the bytes those rows
 * occupied stay in the database file's freed blocks (and in intake log segments) until the erasure step rewrites
 * them (see compactStorage). Each request records when that happened, so an operator can show a deletion reached
 * storage: `segflow privacy status`.
 */

export interface PrivacyRequestRow {
  id: number;
  kind: 'delete' | 'tombstone';
  tombstone: string;
  persons: number;
  requestedAt: Date;
  /** When the erasure reached storage; null while pending. */
  erasedAt: Date | null;
}

export async function recordPrivacyRequest(
  wh: Warehouse,
  r: { kind: PrivacyRequestRow['kind']; tombstone: string; persons: number },
): Promise<number> {
  const [top] = await wh.query<{ id: number | null }>('SELECT max(id) AS id FROM privacy_requests');
  const id = Number(top?.id ?? 0) + 1;
  // A tombstone-only request has nothing of the person to erase: it is complete when recorded.
  const now = new Date();
  await wh.run(
    'INSERT INTO privacy_requests (id, kind, tombstone, persons, requested_at, erased_at) VALUES (?, ?, ?, ?, ?, ?)',
    [id, r.kind, r.tombstone, r.persons, now, r.kind === 'tombstone' ? now : null],
  );
  return id;
}

/** Every privacy request, newest first, with whether its erasure reached storage. */
export async function privacyStatus(wh: Warehouse): Promise<PrivacyRequestRow[]> {
  const rows = await wh.query<{
    id: number;
    kind: PrivacyRequestRow['kind'];
    tombstone: string;
    persons: number;
    requested_at: Date;
    erased_at: Date | null;
  }>('SELECT * FROM privacy_requests ORDER BY id DESC');
  return rows.map((r) => ({
    id: Number(r.id),
    kind: r.kind,
    tombstone: r.tombstone,
    persons: Number(r.persons),
    requestedAt: r.requested_at,
    erasedAt: r.erased_at,
  }));
}

/** Mark every pending request erased (called once the storage has been rewritten). */
export async function markErased(wh: Warehouse, at: Date): Promise<number> {
  return wh.run('UPDATE privacy_requests SET erased_at = ? WHERE erased_at IS NULL', [at]);
}
