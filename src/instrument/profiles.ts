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

/** A person's profile by any of their identifiers (userId, anonymousId, or the person id itself). */
export async function getPerson(wh: Warehouse, identifier: string, recent = 20): Promise<PersonProfile> {
  const [person] = await wh.query<{
    person_id: string;
    identified: boolean;
    first_seen: Date;
    last_seen: Date;
    event_count: number;
    traits: string;
    consent: string;
  }>(
    `SELECT p.* FROM persons p WHERE p.person_id = (SELECT person_id FROM identities WHERE identifier = ?)`,
    [identifier],
  );
  if (!person) {
    throw new SegflowError(
      'NOT_FOUND',
      `no person has the identifier '${identifier}'`,
      'use a userId or anonymousId exactly as sent (ids are case-sensitive)',
    );
  }
  const ids = await wh.query<{ identifier: string; is_user: boolean }>(
    'SELECT identifier, is_user FROM identities WHERE person_id = ? ORDER BY is_user DESC, identifier',
    [person.person_id],
  );
  const accounts = await wh.query<{ group_id: string }>(
    'SELECT group_id FROM account_persons WHERE person_id = ? ORDER BY group_id',
    [person.person_id],
  );
  const events = await wh.query<{
    ts: Date;
    type: string;
    event: string | null;
    name: string | null;
    message_id: string;
  }>(
    'SELECT ts, type, event, name, message_id FROM person_events WHERE person_id = ? ORDER BY ts DESC, message_id LIMIT ?',
    [person.person_id, recent],
  );
  return {
    personId: person.person_id,
    identified: person.identified,
    identifiers: ids.map((r) => ({ identifier: r.identifier, isUser: r.is_user })),
    firstSeen: person.first_seen,
    lastSeen: person.last_seen,
    eventCount: person.event_count,
    traits: parseJson<JsonObject>(person.traits, {}),
    consent: parseJson<Record<string, boolean>>(person.consent, {}),
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
