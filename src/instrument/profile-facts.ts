import type { ConflictRefs } from '../engine/ports.js';
import { consentAnswersOf, emailKey } from '../engine/schema.js';
import type { Warehouse } from '../engine/warehouse.js';

/**
 * Profile facts: first/last seen, latest traits, consent and account membership, kept per identifier and merged into
 * persons at read time (the `persons` and `accounts` views). Each fact keeps the event time and message id that set
 * it, and a newer event (by event time, then message id) wins, so late-arriving history never overwrites fresher data.
 *
 * Consent is read from `context.consent.categoryPreferences` (Segment's Consent Management format: an object of
 * purpose → true/false) on any message; the latest answer per purpose wins.
 */
export async function updateProfileFacts(
  tx: Warehouse,
  newEvents: string,
  /** Which kinds of facts the new events may carry (false only when none can): the others' statements are skipped. */
  carries: { traits: boolean; groups: boolean; consent: boolean } = {
    traits: true,
    groups: true,
    consent: true,
  },
): Promise<void> {
  const d = tx.dialect;
  const storage = tx.storage;
  await storage.upsert({
    table: 'identity_activity',
    columns: ['identifier', 'first_seen', 'last_seen', 'events'],
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
          FROM ${d.jsonMembersJoin(`(SELECT * FROM ${newEvents} WHERE type = 'identify' AND traits IS NOT NULL) e`, 'e.traits', 'je')})
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
        select: `SELECT DISTINCT ${email}, coalesce(user_id, anonymous_id) FROM ${newEvents}
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
        select: `SELECT identifier, purpose, granted, ts, message_id FROM (${consentAnswersOf(d, newEvents)})
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
          FROM ${d.jsonMembersJoin(`(SELECT * FROM ${newEvents} WHERE ${d.jsonTextContains('context', '"categoryPreferences"')}) e`, prefs, 'je')}
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
          FROM ${d.jsonMembersJoin(`(SELECT * FROM ${newEvents} WHERE type = 'group' AND traits IS NOT NULL) e`, 'e.traits', 'je')})
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
      select: `SELECT group_id, coalesce(user_id, anonymous_id), min(ts) FROM ${newEvents} WHERE type = 'group' GROUP BY 1, 2`,
    },
    update: (x) => ({ first_seen: `least(${x.current('first_seen')}, ${x.incoming('first_seen')})` }),
  });
}
