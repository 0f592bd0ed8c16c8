import type { Warehouse } from '../engine/warehouse.js';

/**
 * Find people by what a marketer has to hand: any identifier (userId, anonymousId, alias, person id) exactly, or an
 * email address (the `email` trait, case-insensitive).
 */
export interface PersonMatch {
  personId: string;
  email: string | null;
  identified: boolean;
  lastSeen: Date;
  matchedBy: 'identifier' | 'email';
}

export async function findPersons(
  wh: Warehouse,
  query: string,
  options: { limit?: number } = {},
): Promise<PersonMatch[]> {
  const q = query.trim();
  if (!q) return [];
  const email = wh.dialect.jsonText('p.traits', "'$.email'");
  const rows = await wh.query<{
    person_id: string;
    email: string | null;
    identified: boolean;
    last_seen: Date;
    by_id: boolean;
  }>(
    `SELECT p.person_id, ${email} AS email, p.identified, p.last_seen,
            p.person_id IN (SELECT person_id FROM identities WHERE identifier = $1) AS by_id
     FROM persons p
     WHERE p.person_id IN (SELECT person_id FROM identities WHERE identifier = $1) OR lower(${email}) = lower($1)
     ORDER BY by_id DESC, p.last_seen DESC LIMIT $2`,
    [q, options.limit ?? 20],
  );
  return rows.map((r) => ({
    personId: r.person_id,
    email: r.email,
    identified: Boolean(r.identified),
    lastSeen: r.last_seen,
    matchedBy: r.by_id ? 'identifier' : 'email',
  }));
}
