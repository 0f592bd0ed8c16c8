import { consentAnswersOf } from '../engine/schema.js';
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
  await tx.run(`INSERT INTO identity_activity (identifier, first_seen, last_seen, events)
    SELECT coalesce(user_id, anonymous_id), min(ts), max(ts), count(*) FROM ${newEvents} GROUP BY 1
    ON CONFLICT (identifier) DO UPDATE SET
      first_seen = least(identity_activity.first_seen, excluded.first_seen),
      last_seen = greatest(identity_activity.last_seen, excluded.last_seen),
      events = identity_activity.events + excluded.events`);

  const newer = (table: string) => `(excluded.ts, excluded.message_id) > (${table}.ts, ${table}.message_id)`;
  if (carries.traits)
    await tx.run(`INSERT INTO identity_traits (identifier, key, value, ts, message_id)
    SELECT identifier, key, ${d.argMax('value', '(ts, message_id)')}, max(ts), ${d.argMax('message_id', '(ts, message_id)')}
    FROM (SELECT coalesce(e.user_id, e.anonymous_id) AS identifier, je.key, je.value, e.ts, e.message_id
          FROM (SELECT * FROM ${newEvents} WHERE type = 'identify' AND traits IS NOT NULL) e, ${d.jsonEach('e.traits')} je)
    GROUP BY identifier, key
    ON CONFLICT (identifier, key) DO UPDATE SET value = excluded.value, ts = excluded.ts, message_id = excluded.message_id
      WHERE ${newer('identity_traits')}`);

  const prefs = d.jsonValue('e.context', `'$.consent.categoryPreferences'`);
  // Every answer is kept with its time too (consent as of any past moment); identity_consent holds the latest.
  if (carries.consent)
    await tx.run(`INSERT INTO consent_history (identifier, purpose, granted, ts, message_id)
      SELECT identifier, purpose, granted, ts, message_id FROM (${consentAnswersOf(d, newEvents)})
      WHERE identifier IS NOT NULL ON CONFLICT DO NOTHING`);
  if (carries.consent)
    await tx.run(`INSERT INTO identity_consent (identifier, purpose, granted, ts, message_id)
    SELECT identifier, key, ${d.argMax('granted', '(ts, message_id)')}, max(ts), ${d.argMax('message_id', '(ts, message_id)')}
    FROM (SELECT coalesce(e.user_id, e.anonymous_id) AS identifier, je.key,
                 ${d.jsonText('je.value', "'$'")} = 'true' AS granted, e.ts, e.message_id
          FROM (SELECT * FROM ${newEvents} WHERE ${d.jsonTextContains('context', '"categoryPreferences"')}) e,
               ${d.jsonEach(prefs)} je
          WHERE ${d.jsonKind(prefs)} = 'object' AND ${d.jsonKind('je.value')} = 'boolean')
    GROUP BY identifier, key
    ON CONFLICT (identifier, purpose) DO UPDATE SET granted = excluded.granted, ts = excluded.ts, message_id = excluded.message_id
      WHERE ${newer('identity_consent')}`);

  if (!carries.groups) return;
  await tx.run(`INSERT INTO account_traits (group_id, key, value, ts, message_id)
    SELECT group_id, key, ${d.argMax('value', '(ts, message_id)')}, max(ts), ${d.argMax('message_id', '(ts, message_id)')}
    FROM (SELECT e.group_id, je.key, je.value, e.ts, e.message_id
          FROM (SELECT * FROM ${newEvents} WHERE type = 'group' AND traits IS NOT NULL) e, ${d.jsonEach('e.traits')} je)
    GROUP BY group_id, key
    ON CONFLICT (group_id, key) DO UPDATE SET value = excluded.value, ts = excluded.ts, message_id = excluded.message_id
      WHERE ${newer('account_traits')}`);

  await tx.run(`INSERT INTO account_members (group_id, identifier, first_seen)
    SELECT group_id, coalesce(user_id, anonymous_id), min(ts) FROM ${newEvents} WHERE type = 'group' GROUP BY 1, 2
    ON CONFLICT (group_id, identifier) DO UPDATE SET first_seen = least(account_members.first_seen, excluded.first_seen)`);
}
