import { emailKey } from '../engine/schema.js';
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

/**
 * The people an identifier or an email address names, those found by identifier first, then the most recently seen.
 * Every read is a point lookup (a primary key or an index) or reads only the found people's rows, so its cost does
 * not grow with the database: an email is looked up in identity_emails (who ever had it) and confirmed against the
 * current email trait.
 *
 * @example
 * const [match] = await findPersons(wh, 'Ada@Example.com'); // { personId, email: 'ada@example.com', matchedBy: 'email', … }
 */
export async function findPersons(
  wh: Warehouse,
  query: string,
  options: { limit?: number } = {},
): Promise<PersonMatch[]> {
  const q = query.trim();
  if (!q) return [];
  const d = wh.dialect;
  const inList = (column: string) => d.inTextList(column, '?');
  const list = (xs: Iterable<string>) => JSON.stringify([...new Set(xs)]);

  const byId = await wh.query<{ person_id: string }>(
    'SELECT person_id FROM identities WHERE identifier = ?',
    [q],
  );
  const ever = await wh.query<{ identifier: string }>(
    'SELECT identifier FROM identity_emails WHERE email = lower(?)',
    [q],
  );
  // Tests on the rows are computed, not filtered: DuckDB reads through the identifier index only when that is the
  // table's one filter (with `key = 'email'` beside it, it scans every trait).
  const now = ever.length
    ? (
        await wh.query<{ identifier: string; hit: boolean }>(
          `SELECT identifier, key = 'email' AND ${emailKey(d, 'value')} = lower(?) AS hit FROM identity_traits
           WHERE ${inList('identifier')}`,
          [q, list(ever.map((r) => r.identifier))],
        )
      ).filter((r) => r.hit)
    : [];
  const byEmail = now.length
    ? await wh.query<{ person_id: string }>(
        `SELECT DISTINCT person_id FROM identities WHERE ${inList('identifier')}`,
        [list(now.map((r) => r.identifier))],
      )
    : [];
  const found = new Map<string, boolean>(); // person → found by identifier
  for (const r of byEmail) found.set(r.person_id, false);
  for (const r of byId) found.set(r.person_id, true);
  if (found.size === 0) return [];

  // Only the found people's rows from here on.
  const ids = await wh.query<{ identifier: string; person_id: string; is_user: boolean }>(
    `SELECT identifier, person_id, is_user FROM identities WHERE ${inList('person_id')}`,
    [list(found.keys())],
  );
  const personOf = new Map(ids.map((i) => [i.identifier, i.person_id]));
  const identifiers = list(personOf.keys());
  // Oldest first, ordered by the engine (ties by message id, as the persons view): the last one per person wins.
  const traits = await wh.query<{ identifier: string; key: string; email: string | null }>(
    `SELECT identifier, key, ${d.jsonText('value', "'$'")} AS email FROM identity_traits
     WHERE ${inList('identifier')} ORDER BY ts, message_id`,
    [identifiers],
  );
  const emails = traits.filter((t) => t.key === 'email');
  const activity = await wh.query<{ identifier: string; last_seen: Date }>(
    `SELECT identifier, last_seen FROM identity_activity WHERE ${inList('identifier')}`,
    [identifiers],
  );
  const matches = new Map<string, PersonMatch & { seen: number }>();
  for (const [personId, byIdentifier] of found) {
    matches.set(personId, {
      personId,
      email: null,
      identified: false,
      lastSeen: new Date(Number.NaN),
      matchedBy: byIdentifier ? 'identifier' : 'email',
      seen: Number.NEGATIVE_INFINITY,
    });
  }
  for (const i of ids) if (i.is_user) matches.get(i.person_id)!.identified = true;
  for (const e of emails) matches.get(personOf.get(e.identifier)!)!.email = e.email;
  for (const a of activity) {
    const m = matches.get(personOf.get(a.identifier)!)!;
    if (a.last_seen.getTime() > m.seen) {
      m.seen = a.last_seen.getTime();
      m.lastSeen = a.last_seen;
    }
  }
  return [...matches.values()]
    .sort(
      (a, b) =>
        Number(b.matchedBy === 'identifier') - Number(a.matchedBy === 'identifier') ||
        b.seen - a.seen ||
        (a.personId < b.personId ? -1 : a.personId > b.personId ? 1 : 0),
    )
    .slice(0, options.limit ?? 20)
    .map((m) => ({
      personId: m.personId,
      email: m.email,
      identified: m.identified,
      lastSeen: m.lastSeen,
      matchedBy: m.matchedBy,
    }));
}
