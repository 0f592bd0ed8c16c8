import { z } from 'zod';
import type { Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';
import { Timestamp } from '../shared/timestamp.js';

/**
 * A person's events, newest first, a page at a time, with their properties: the People page's timeline. Pages are
 * numbered (offset = page × size): a timeline is read from the top, and a person has at most a few thousand events.
 */
export const PersonTimelineSchema = z
  .object({
    personId: z.string(),
    total: z.int().describe("the person's events in all"),
    page: z.int(),
    pageSize: z.int(),
    events: z.array(
      z.object({
        ts: Timestamp,
        type: z.string(),
        event: z.string().nullable(),
        name: z.string().nullable(),
        messageId: z.string(),
        properties: z.record(z.string(), z.json()).describe('the properties as sent'),
      }),
    ),
  })
  .meta({ id: 'PersonTimeline' });
export type PersonTimeline = z.output<typeof PersonTimelineSchema>;
type Properties = PersonTimeline['events'][number]['properties'];

export async function personTimeline(
  wh: Warehouse,
  identifier: string,
  options: { page?: number; pageSize?: number } = {},
): Promise<PersonTimeline> {
  const [who] = await wh.query<{ person_id: string }>(
    'SELECT person_id FROM identities WHERE identifier = ?',
    [identifier],
  );
  if (!who) {
    throw new SegflowError(
      'NOT_FOUND',
      `no person has the identifier '${identifier}'`,
      'use a userId or anonymousId exactly as sent (ids are case-sensitive)',
    );
  }
  const page = options.page ?? 0;
  const pageSize = options.pageSize ?? 50;
  // The person's events by their stored person id, or an id merged into theirs that a squash has not folded yet
  // (a handful at most): a plain filter on the events, where the person_events view would join every event first.
  const merged = await wh.query<{ old_person_id: string }>(
    'SELECT old_person_id FROM person_overrides WHERE person_id = ?',
    [who.person_id],
  );
  const ids = [who.person_id, ...merged.map((m) => m.old_person_id)];
  const mine = `person_id IN (${ids.map(() => '?').join(', ')})`;
  // The total rides on the page's rows (one read of the events instead of two); a page past the end counts apart.
  const rows = await wh.query<{
    ts: Date;
    type: string;
    event: string | null;
    name: string | null;
    message_id: string;
    properties: unknown;
    total: bigint;
  }>(
    `SELECT ts, type, event, name, message_id, properties, count(*) OVER () AS total FROM events
     WHERE ${mine} ORDER BY ts DESC, message_id LIMIT ? OFFSET ?`,
    [...ids, pageSize, page * pageSize],
  );
  const total = rows.length
    ? Number(rows[0]!.total)
    : Number(
        (await wh.query<{ n: bigint }>(`SELECT count(*) AS n FROM events WHERE ${mine}`, ids))[0]?.n ?? 0,
      );
  return {
    personId: who.person_id,
    total,
    page,
    pageSize,
    events: rows.map((r) => ({
      ts: r.ts,
      type: r.type,
      event: r.event,
      name: r.name,
      messageId: r.message_id,
      properties: (typeof r.properties === 'string'
        ? JSON.parse(r.properties)
        : (r.properties ?? {})) as Properties,
    })),
  };
}
