import { z } from 'zod';
import type { Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';

/**
 * Finding the people a privacy request is about, the way requests arrive: by a userId or anonymousId, or by the value
 * of an identifying trait — an email address or a phone number, most often. Trait values are compared normalised
 * (trimmed and lower-cased; phone numbers also without spaces, dashes, dots and brackets), so " Jane@Example.com "
 * finds the person whose `email` trait is "jane@example.com". Several people can share an email; the caller decides
 * whether a request acts on all of them.
 */

/** `privacy:` in segflow.config.yaml. */
export const PrivacyConfig = z
  .object({
    identifyingTraits: z
      .array(z.string().min(1).max(200))
      .default(['email', 'phone'])
      .describe('traits whose values find a person in privacy requests (compared trimmed, lower-cased)'),
  })
  .default({ identifyingTraits: ['email', 'phone'] });
export type PrivacyConfig = z.infer<typeof PrivacyConfig>;

export function privacyConfig(section: unknown): PrivacyConfig {
  const parsed = PrivacyConfig.safeParse(section ?? undefined);
  if (!parsed.success) {
    throw new SegflowError(
      'CONFIG_INVALID',
      parsed.error.issues.map((i) => `privacy.${i.path.join('.')}: ${i.message}`).join('\n'),
      'e.g. privacy: { identifyingTraits: [email, phone, customer_number] }',
    );
  }
  return parsed.data;
}

/** How a request names people, and what to do when it names several or none. */
export interface PersonQuery {
  /** A userId, an anonymousId, or an identifying trait's value. */
  identifier: string;
  /** Traits whose values also find people (default: email, phone). */
  identifyingTraits?: readonly string[];
}

export interface MatchedPerson {
  personId: string;
  /** How the identifier found them: `identifier` (a userId or anonymousId) or `trait:<name>`. */
  matchedBy: string[];
  /** Every identifier the person has. */
  identifiers: string[];
}

const isPhone = (trait: string) => /phone/i.test(trait);

/** The normalised form identifying trait values are compared in (see the module comment). */
export function normaliseTraitValue(trait: string, value: string): string {
  const v = value.trim().toLowerCase();
  return isPhone(trait) ? v.replace(/[\s().-]/g, '') : v;
}

/** Everyone the identifier names, each with every identifier they have; [] when nobody. */
export async function findPeople(wh: Warehouse, q: PersonQuery): Promise<MatchedPerson[]> {
  const d = wh.dialect;
  const traits = q.identifyingTraits ?? ['email', 'phone'];
  const found = new Map<string, Set<string>>();
  const add = (personId: string, how: string) => {
    let s = found.get(personId);
    if (!s) {
      s = new Set();
      found.set(personId, s);
    }
    s.add(how);
  };
  for (const r of await wh.query<{ person_id: string }>(
    'SELECT person_id FROM identities WHERE identifier = ?',
    [q.identifier],
  )) {
    add(r.person_id, 'identifier');
  }
  for (const trait of traits) {
    const value = d.jsonText('t.value', "'$'");
    // The same normalisation as normaliseTraitValue, in SQL: replace() and lower(trim()) are portable.
    let norm = `lower(trim(${value}))`;
    if (isPhone(trait)) {
      for (const c of [' ', '-', '.', '(', ')']) norm = `replace(${norm}, '${c}', '')`;
    }
    const rows = await wh.query<{ person_id: string }>(
      `SELECT DISTINCT i.person_id FROM identity_traits t JOIN identities i ON i.identifier = t.identifier
       WHERE t.key = ? AND ${norm} = ?`,
      [trait, normaliseTraitValue(trait, q.identifier)],
    );
    for (const r of rows) add(r.person_id, `trait:${trait}`);
  }
  const out: MatchedPerson[] = [];
  for (const [personId, how] of [...found].sort(([a], [b]) => a.localeCompare(b))) {
    const ids = await wh.query<{ identifier: string }>(
      'SELECT identifier FROM identities WHERE person_id = ? ORDER BY identifier',
      [personId],
    );
    out.push({ personId, matchedBy: [...how], identifiers: ids.map((r) => r.identifier) });
  }
  return out;
}

/**
 * The people a request acts on: exactly one, or all of several only when `allMatching`. Nobody is NOT_FOUND (HTTP
 * 404, exit 1); several without `allMatching` is IDENTIFIER_AMBIGUOUS (HTTP 409, exit 1), listing them.
 */
export async function resolvePeople(
  wh: Warehouse,
  q: PersonQuery & { allMatching?: boolean },
): Promise<MatchedPerson[]> {
  const people = await findPeople(wh, q);
  if (people.length === 0) {
    throw new SegflowError(
      'NOT_FOUND',
      `nobody has the identifier '${q.identifier}' (as a userId, an anonymousId, or an ${(q.identifyingTraits ?? ['email', 'phone']).join(' or ')} value); nothing was changed`,
      'check the spelling; to block an identifier not seen yet, delete with --tombstone-only (API: "tombstoneOnly": true)',
    );
  }
  if (people.length > 1 && !q.allMatching) {
    throw new SegflowError(
      'IDENTIFIER_AMBIGUOUS',
      `'${q.identifier}' matches ${people.length} people; nothing was changed:\n${people
        .map(
          (p) => `  ${p.personId} (by ${p.matchedBy.join(', ')}; identifiers: ${p.identifiers.join(', ')})`,
        )
        .join('\n')}`,
      'to act on all of them, repeat with --all-matching (API: "allMatching": true); or name one by its userId',
    );
  }
  return people;
}
