import type { Dialect } from '../engine/dialect.js';
import type { ConflictRefs } from '../engine/ports.js';
import { consentAnswersOf, emailKey } from '../engine/schema.js';
import type { Warehouse } from '../engine/warehouse.js';
import { killPoint } from './kill-point.js';

/**
 * Profile facts: first/last seen, latest traits, consent and account membership, kept per identifier and merged into
 * persons at read time (the `persons` and `accounts` views). Each fact keeps the event time and message id that set
 * it, and a newer event (by event time, then message id) wins, so late-arriving history never overwrites fresher data.
 *
 * Consent is read from `context.consent.categoryPreferences` (Segment's Consent Management format: an object of
 * purpose → true/false) on any message; the latest answer per purpose wins.
 */

/** Which kinds of facts some events may carry (false only when none can): the others' statements are skipped. */
export interface CarriedFacts {
  traits: boolean;
  groups: boolean;
  consent: boolean;
}

const EVERY_FACT: CarriedFacts = { traits: true, groups: true, consent: true };

/** The counts `carriedFacts` reads, as one query's row. */
export type FactCounts = {
  identifies: number;
  groups: number;
  consents: number;
};

/**
 * Select-list items counting the rows that carry each kind of fact (`identifies`, `groups`, `consents`), among those
 * meeting `where`: one pass over a batch answers them beside its other totals (ingest's) or alone (a replay's).
 *
 * @example
 * await tx.query<FactCounts>(`SELECT ${factCountsSql(tx.dialect)} FROM _sf_batch`);
 */
export function factCountsSql(d: Dialect, where = 'TRUE'): string {
  const carries = factConditions(d);
  return `${d.aggregateIf('count(*)', `${where} AND ${carries.traits}`)} AS identifies,
      ${d.aggregateIf('count(*)', `${where} AND ${carries.groups}`)} AS groups,
      ${d.aggregateIf('count(*)', `${where} AND ${carries.consent}`)} AS consents`;
}

/**
 * Which events carry which facts, as conditions on an events row (`alias.` before each column when given): traits
 * (an identify with traits), groups (a group call), consent answers (a context with category preferences).
 *
 * @example
 * factConditions(d, 'e').traits; // "(e.type = 'identify' AND e.traits IS NOT NULL)"
 */
export function factConditions(d: Dialect, alias?: string): Record<keyof CarriedFacts, string> {
  const c = (column: string) => (alias ? `${alias}.${column}` : column);
  return {
    traits: `(${c('type')} = 'identify' AND ${c('traits')} IS NOT NULL)`,
    groups: `(${c('type')} = 'group')`,
    consent: d.jsonTextContains(c('context'), '"categoryPreferences"'),
  };
}

/**
 * Which facts events carry, from their counts (`factCountsSql`).
 *
 * @example
 * carriedFacts({ identifies: 3, groups: 0, consents: 0 }); // { traits: true, groups: false, consent: false }
 */
export function carriedFacts(counts: FactCounts | undefined): CarriedFacts {
  return {
    traits: Number(counts?.identifies) > 0,
    groups: Number(counts?.groups) > 0,
    consent: Number(counts?.consents) > 0,
  };
}

/** The facts of events just stored: their activity is added to what each identifier had, the rest merged in. */
export async function updateProfileFacts(
  tx: Warehouse,
  newEvents: string,
  carries: CarriedFacts = EVERY_FACT,
): Promise<void> {
  await addActivity(tx, newEvents);
  killPoint('facts:activity-added');
  await mergeEventFacts(tx, newEvents, carries);
}

/**
 * The facts of events stored earlier, derived again: for a load that was cut short after storing its events (on an
 * engine whose transaction is not atomic, see storeChecked), so that whatever part of their facts it wrote, they end
 * up as one clean load leaves them. Activity is counted again from the stored events rather than added to, since the
 * addition may already have happened; every other fact merges, so writing it twice changes nothing.
 */
export async function rederiveProfileFacts(tx: Warehouse, storedEvents: string): Promise<void> {
  await recountActivity(tx, storedEvents);
  const [counts] = await tx.query<FactCounts>(`SELECT ${factCountsSql(tx.dialect)} FROM ${storedEvents}`);
  await mergeEventFacts(tx, storedEvents, carriedFacts(counts));
}

const ACTIVITY_COLUMNS = ['identifier', 'first_seen', 'last_seen', 'events'];

/** First/last seen widen and the event count adds up: right once per event, so only for events just stored. */
async function addActivity(tx: Warehouse, newEvents: string): Promise<void> {
  await tx.storage.upsert({
    table: 'identity_activity',
    columns: ACTIVITY_COLUMNS,
    key: ['identifier'],
    from: {
      select: `SELECT coalesce(user_id, anonymous_id), min(ts), max(ts), count(*) FROM ${newEvents} GROUP BY 1`,
    },
    update: (x) => ({
      first_seen: `least(${x.current('first_seen')}, ${x.incoming('first_seen')})`,
      last_seen: `greatest(${x.current('last_seen')}, ${x.incoming('last_seen')})`,
      events: `${x.current('events')} + ${x.incoming('events')}`,
    }),
  });
}

/** The activity of the identifiers of `events`, counted from every stored event of each: right however often run. */
async function recountActivity(tx: Warehouse, events: string): Promise<void> {
  await tx.storage.upsert({
    table: 'identity_activity',
    columns: ACTIVITY_COLUMNS,
    key: ['identifier'],
    from: {
      select: `SELECT coalesce(user_id, anonymous_id), min(ts), max(ts), count(*) FROM events
        WHERE coalesce(user_id, anonymous_id) IN (SELECT coalesce(user_id, anonymous_id) FROM ${events}) GROUP BY 1`,
    },
    update: ['first_seen', 'last_seen', 'events'],
  });
}

/**
 * The facts that merge, from `rows` (a relation shaped like `events`): the newest value per key (by event time, then
 * message id), sets (emails, consent answers) and the earliest membership. Writing the same events' facts twice, in
 * any order with others, changes nothing.
 */
async function mergeEventFacts(tx: Warehouse, rows: string, carries: CarriedFacts): Promise<void> {
  const d = tx.dialect;
  const storage = tx.storage;
  // A fact is replaced only by a newer one: later event time, then later message id.
  const newer = (x: ConflictRefs) =>
    `(${x.incoming('ts')}, ${x.incoming('message_id')}) > (${x.current('ts')}, ${x.current('message_id')})`;
  const latest = ['value', 'ts', 'message_id'];
  if (carries.traits)
    await storage.upsert({
      table: 'identity_traits',
      columns: ['identifier', 'key', 'value', 'ts', 'message_id'],
      key: ['identifier', 'key'],
      from: {
        select: `SELECT identifier, key, ${d.argMax('value', '(ts, message_id)')}, max(ts), ${d.argMax('message_id', '(ts, message_id)')}
    FROM (SELECT coalesce(e.user_id, e.anonymous_id) AS identifier, je.key AS key, je.value AS value, e.ts, e.message_id
          FROM ${d.jsonMembersJoin(`(SELECT * FROM ${rows} WHERE type = 'identify' AND traits IS NOT NULL) e`, 'e.traits', 'je')})
    GROUP BY identifier, key`,
      },
      update: latest,
      when: newer,
    });

  // Every email address an identifier is seen with, for people search's point lookup (never updated: a superset
  // of the current emails, which readers confirm against identity_traits).
  if (carries.traits) {
    const email = emailKey(d, 'traits', "'$.email'");
    await storage.upsert({
      table: 'identity_emails',
      columns: ['email', 'identifier'],
      key: ['email', 'identifier'],
      from: {
        select: `SELECT DISTINCT ${email}, coalesce(user_id, anonymous_id) FROM ${rows}
    WHERE type = 'identify' AND traits IS NOT NULL AND ${email} IS NOT NULL AND coalesce(user_id, anonymous_id) IS NOT NULL`,
      },
    });
  }

  const prefs = d.jsonValue('e.context', `'$.consent.categoryPreferences'`);
  // Every answer is kept with its time too (consent as of any past moment); identity_consent holds the latest.
  if (carries.consent)
    await storage.upsert({
      table: 'consent_history',
      columns: ['identifier', 'purpose', 'granted', 'ts', 'message_id'],
      key: ['identifier', 'purpose', 'message_id'],
      from: {
        select: `SELECT identifier, purpose, granted, ts, message_id FROM (${consentAnswersOf(d, rows)})
      WHERE identifier IS NOT NULL`,
      },
    });
  if (carries.consent)
    await storage.upsert({
      table: 'identity_consent',
      columns: ['identifier', 'purpose', 'granted', 'ts', 'message_id'],
      key: ['identifier', 'purpose'],
      from: {
        select: `SELECT identifier, key, ${d.argMax('granted', '(ts, message_id)')}, max(ts), ${d.argMax('message_id', '(ts, message_id)')}
    FROM (SELECT coalesce(e.user_id, e.anonymous_id) AS identifier, je.key AS key,
                 ${d.jsonText('je.value', "'$'")} = 'true' AS granted, e.ts, e.message_id
          FROM ${d.jsonMembersJoin(`(SELECT * FROM ${rows} WHERE ${d.jsonTextContains('context', '"categoryPreferences"')}) e`, prefs, 'je')}
          WHERE ${d.jsonKind(prefs)} = 'object' AND ${d.jsonKind('je.value')} = 'boolean')
    GROUP BY identifier, key`,
      },
      update: ['granted', 'ts', 'message_id'],
      when: newer,
    });

  if (!carries.groups) return;
  await storage.upsert({
    table: 'account_traits',
    columns: ['group_id', 'key', 'value', 'ts', 'message_id'],
    key: ['group_id', 'key'],
    from: {
      select: `SELECT group_id, key, ${d.argMax('value', '(ts, message_id)')}, max(ts), ${d.argMax('message_id', '(ts, message_id)')}
    FROM (SELECT e.group_id, je.key AS key, je.value AS value, e.ts, e.message_id
          FROM ${d.jsonMembersJoin(`(SELECT * FROM ${rows} WHERE type = 'group' AND traits IS NOT NULL) e`, 'e.traits', 'je')})
    GROUP BY group_id, key`,
    },
    update: latest,
    when: newer,
  });

  await storage.upsert({
    table: 'account_members',
    columns: ['group_id', 'identifier', 'first_seen'],
    key: ['group_id', 'identifier'],
    from: {
      select: `SELECT group_id, coalesce(user_id, anonymous_id), min(ts) FROM ${rows} WHERE type = 'group' GROUP BY 1, 2`,
    },
    update: (x) => ({ first_seen: `least(${x.current('first_seen')}, ${x.incoming('first_seen')})` }),
  });
}
