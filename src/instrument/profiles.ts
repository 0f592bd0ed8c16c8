import { z } from 'zod';
import type { Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';
import { Timestamp } from '../shared/timestamp.js';
import type { JsonObject } from './segment-spec.js';

/** A person as segflow knows them: identifiers, latest traits, consent, accounts and recent events. */
export const PersonProfileSchema = z
  .object({
    personId: z.string().describe('the canonical person id'),
    identified: z.boolean().describe('whether any identifier is a userId'),
    identifiers: z.array(z.object({ identifier: z.string(), isUser: z.boolean() })),
    firstSeen: Timestamp,
    lastSeen: Timestamp,
    eventCount: z.int(),
    traits: z.record(z.string(), z.json()).describe('latest value per trait'),
    consent: z.record(z.string(), z.boolean()).describe('purpose → granted'),
    accounts: z.array(z.string()).describe('group ids'),
    recentEvents: z.array(
      z.object({
        ts: Timestamp,
        type: z.string(),
        event: z.string().nullable(),
        name: z.string().nullable(),
        messageId: z.string(),
      }),
    ),
  })
  .meta({ id: 'Person' });
export type PersonProfile = z.output<typeof PersonProfileSchema>;

function parseJson<T>(text: unknown, fallback: T): T {
  return typeof text === 'string' ? (JSON.parse(text) as T) : fallback;
}

/**
 * A person's profile by any of their identifiers (userId, anonymousId, or the person id itself). Reads only this
 * person's rows — the same figures the `persons` view gives, which aggregates every person before filtering.
 */
export async function getPerson(wh: Warehouse, identifier: string, recent = 20): Promise<PersonProfile> {
  const d = wh.dialect;
  const [who] = await wh.query<{ person_id: string }>(
    'SELECT person_id FROM identities WHERE identifier = ?',
    [identifier],
  );
  const ids = who
    ? await wh.query<{ identifier: string; is_user: boolean }>(
        'SELECT identifier, is_user FROM identities WHERE person_id = ? ORDER BY is_user DESC, identifier',
        [who.person_id],
      )
    : [];
  const mine = JSON.stringify(ids.map((i) => i.identifier));
  // As the view: activity over the identifiers that have any, identified when one of those is a userId.
  const active = await wh.query<{ identifier: string; first_seen: Date; last_seen: Date; events: bigint }>(
    `SELECT identifier, first_seen, last_seen, events FROM identity_activity WHERE ${d.inTextList('identifier', '?')}`,
    [mine],
  );
  const userIds = new Set(ids.filter((i) => i.is_user).map((i) => i.identifier));
  const activity = active.length
    ? {
        first_seen: new Date(Math.min(...active.map((a) => a.first_seen.getTime()))),
        last_seen: new Date(Math.max(...active.map((a) => a.last_seen.getTime()))),
        event_count: active.reduce((n, a) => n + Number(a.events), 0),
        identified: active.some((a) => userIds.has(a.identifier)),
      }
    : undefined;
  if (!who || !activity?.first_seen || !activity.last_seen) {
    throw new SegflowError(
      'NOT_FOUND',
      `no person has the identifier '${identifier}'`,
      'use a userId or anonymousId exactly as sent (ids are case-sensitive)',
    );
  }
  const person = {
    person_id: who.person_id,
    first_seen: activity.first_seen,
    last_seen: activity.last_seen,
    event_count: activity.event_count,
    identified: activity.identified,
  };
  // The latest value per key across the person's identifiers, ties broken by message id (as the view).
  const latest = (table: string, key: string, value: string) =>
    wh.query<{ key: string; value: unknown }>(
      `SELECT ${key} AS key, ${d.argMax(value, '(ts, message_id)')} AS value FROM ${table}
       WHERE ${d.inTextList('identifier', '?')} GROUP BY ${key} ORDER BY ${key}`,
      [mine],
    );
  const traits: JsonObject = {};
  for (const t of await latest('identity_traits', 'key', 'value')) {
    traits[t.key] = parseJson<JsonObject[string]>(t.value, null);
  }
  const consent: Record<string, boolean> = {};
  for (const c of await latest('identity_consent', 'purpose', 'granted')) consent[c.key] = c.value === true;
  // The account_persons view for this person, read from the memberships of their identifiers alone.
  const accounts = await wh.query<{ group_id: string }>(
    `SELECT DISTINCT group_id FROM account_members WHERE ${d.inTextList('identifier', '?')} ORDER BY group_id`,
    [mine],
  );
  // By the stored person id and ids merged into it that a squash has not folded yet: a plain filter on the
  // events, where the person_events view would join every event first.
  const merged = await wh.query<{ old_person_id: string }>(
    'SELECT old_person_id FROM person_overrides WHERE person_id = ?',
    [person.person_id],
  );
  const stored = [person.person_id, ...merged.map((m) => m.old_person_id)];
  const events =
    recent === 0
      ? []
      : await wh.query<{
          ts: Date;
          type: string;
          event: string | null;
          name: string | null;
          message_id: string;
        }>(
          `SELECT ts, type, event, name, message_id FROM events WHERE ${d.inTextList('person_id', '?')}
           ORDER BY ts DESC, message_id LIMIT ?`,
          [JSON.stringify(stored), recent],
        );
  return {
    personId: person.person_id,
    identified: person.identified === true,
    identifiers: ids.map((r) => ({ identifier: r.identifier, isUser: r.is_user })),
    firstSeen: person.first_seen,
    lastSeen: person.last_seen,
    eventCount: Number(person.event_count ?? 0),
    traits,
    consent,
    accounts: accounts.map((a) => a.group_id),
    recentEvents: events.map((e) => ({
      ts: e.ts,
      type: e.type,
      event: e.event,
      name: e.name,
      messageId: e.message_id,
    })),
  };
}
