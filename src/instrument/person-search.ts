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
  const d = wh.dialect;
  // The candidates first — by identifier (primary key) or by an identifier's email trait — and only their rows of
  // the identity tables after: the `persons` view would aggregate everyone before filtering.
  const email = d.jsonText('t.value', "'$'");
  const rows = await wh.query<{
    person_id: string;
    email: string | null;
    identified: boolean;
    last_seen: Date;
    by_id: boolean;
  }>(
    `WITH hits AS (
       SELECT person_id, TRUE AS by_id FROM identities WHERE identifier = $1
       UNION ALL
       SELECT i.person_id, FALSE AS by_id FROM identity_traits t JOIN identities i ON i.identifier = t.identifier
       WHERE t.key = 'email' AND lower(${email}) = lower($1)),
     found AS (SELECT person_id, ${d.boolOr('by_id')} AS by_id FROM hits GROUP BY person_id),
     ids AS (SELECT i.identifier, i.person_id, i.is_user FROM identities i JOIN found f ON f.person_id = i.person_id)
     SELECT f.person_id, f.by_id,
            (SELECT ${d.argMax(email, '(t.ts, t.message_id)')} FROM identity_traits t JOIN ids ON ids.identifier = t.identifier
             WHERE ids.person_id = f.person_id AND t.key = 'email') AS email,
            (SELECT ${d.boolOr('is_user')} FROM ids WHERE ids.person_id = f.person_id) AS identified,
            (SELECT max(a.last_seen) FROM identity_activity a JOIN ids ON ids.identifier = a.identifier
             WHERE ids.person_id = f.person_id) AS last_seen
     FROM found f ORDER BY f.by_id DESC, last_seen DESC NULLS LAST, f.person_id LIMIT $2`,
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
