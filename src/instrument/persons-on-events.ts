import type { Warehouse } from '../engine/warehouse.js';

/**
 * Persons on events: every stored event carries the person id its identifiers resolved to when it was stored
 * (`events.person_id`), so models and segments group events by a column of the events themselves instead of joining
 * every event to the identity graph. When identities merge later, the merged-away person id gets an override
 * (`person_overrides`: old id → surviving id) that every read applies through a join with that small table; a squash
 * folds the overrides into the events in the background and empties the table. PostHog's "persons on events" with
 * person overrides is the public precedent.
 *
 * Invariant: the person of an event is `coalesce(override of its stored id, its stored id)`, which equals
 * `identities[coalesce(user_id, anonymous_id)]` at every moment (tested against that identity-join path).
 */

/**
 * SQL for the `person_events` rows of the people in `people` (a relation with a `person_id` column) with the given
 * event columns: the events are picked by their stored id (their current id, or an id merged into it), so the
 * engine filters while it scans instead of resolving every event first.
 *
 * @example
 * scopedPersonEventsSql('features_dirty', ['ts', 'event'], 'e.ts <= $1')
 * // SELECT coalesce(o.person_id, e.person_id) AS person_id, e.ts, e.event FROM events e LEFT JOIN … WHERE …
 */
export function scopedPersonEventsSql(people: string, columns: readonly string[], where = 'TRUE'): string {
  return `SELECT coalesce(o.person_id, e.person_id) AS person_id${columns.map((c) => `, e.${c}`).join('')}
    FROM events e LEFT JOIN person_overrides o ON o.old_person_id = e.person_id
    WHERE e.person_id IN (
        SELECT person_id FROM ${people}
        UNION ALL SELECT old_person_id FROM person_overrides WHERE person_id IN (SELECT person_id FROM ${people}))
      AND ${where}`;
}

/**
 * Record merges: `remap` is a relation of (old_id, new_id) person ids, each old id merged away into its new id.
 * Earlier overrides that pointed at a merged-away id now point at its survivor (so one join always suffices), and a
 * surviving id is never itself overridden.
 */
export async function recordPersonOverrides(tx: Warehouse, remap: string): Promise<void> {
  // The same for the overrides (emptied by squashes) and the merges (kept: `person_merges`).
  for (const [table, at] of [
    ['person_overrides', 'overridden_at'],
    ['person_merges', 'merged_at'],
  ] as const) {
    await tx.storage.updateFrom({
      table,
      from: { table: remap },
      match: { person_id: 'old_id' },
      set: { person_id: 'new_id' },
    });
    await tx.run(`DELETE FROM ${table} WHERE old_person_id IN (SELECT new_id FROM ${remap})`);
    await tx.storage.upsert({
      table,
      columns: ['old_person_id', 'person_id', at],
      key: ['old_person_id'],
      from: { select: `SELECT old_id, new_id, ${tx.dialect.now()} FROM ${remap}` },
      update: ['person_id', at],
    });
  }
}

/**
 * SQL for the people of `people` (a relation with a `person_id` column) and every person id ever merged into them:
 * the ids rows may still be stored under (an open membership, a live feature row) when those people are evaluated.
 *
 * @example
 * withMergedIdsSql('_sf_seg_scope') // SELECT person_id FROM _sf_seg_scope UNION SELECT old_person_id FROM person_merges …
 */
export function withMergedIdsSql(people: string): string {
  return `SELECT person_id FROM ${people} UNION
    SELECT old_person_id FROM person_merges WHERE person_id IN (SELECT person_id FROM ${people})`;
}

/**
 * The relation a whole-population read takes events from, inside the reading transaction: `events` itself when no
 * merge is pending (every stored id is current, and the join with the overrides would cost about a tenth of a scan),
 * else `person_events`, which applies them.
 *
 * @example
 * const events = await eventsRelation(tx); // 'events' right after a squash
 */
export async function eventsRelation(tx: Warehouse): Promise<'events' | 'person_events'> {
  return (await pendingPersonOverrides(tx)) === 0 ? 'events' : 'person_events';
}

/** How many merges are waiting to be folded into the events. */
export async function pendingPersonOverrides(wh: Warehouse): Promise<number> {
  const [row] = await wh.query<{ n: number }>('SELECT count(*) AS n FROM person_overrides');
  return Number(row?.n ?? 0);
}

export interface SquashResult {
  /** Overrides folded in (and removed). */
  overrides: number;
  /** Events whose stored person id was rewritten. */
  events: number;
}

/**
 * Fold every pending override into the events (their stored person id becomes the surviving id) and remove the
 * overrides, in one transaction: a read sees either the override or the rewritten events, never neither. Changes no
 * result of any read; it only makes reads cheaper. Run it in the background (the server does after loads) or before
 * a large refresh.
 *
 * @example
 * const { overrides, events } = await squashPersonOverrides(wh);
 */
export async function squashPersonOverrides(wh: Warehouse): Promise<SquashResult> {
  return wh.transaction(async (tx) => {
    const overrides = await pendingPersonOverrides(tx);
    if (overrides === 0) return { overrides: 0, events: 0 };
    const events = await tx.storage.updateFrom({
      table: 'events',
      from: { table: 'person_overrides' },
      match: { person_id: 'old_person_id' },
      set: { person_id: 'person_id' },
    });
    await tx.run('DELETE FROM person_overrides');
    return { overrides, events };
  });
}
