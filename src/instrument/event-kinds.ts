import type { Warehouse } from '../engine/warehouse.js';

/**
 * The numbered (type, event name) pairs of the stored events (table `event_kinds`; each event stores its kind in
 * `events.event_kind`). Passes over every event test `event_kind IN (…)`, a small integer, instead of comparing the
 * type and the name as text for each condition.
 */
export interface EventKinds {
  /** Kinds of track events with one of these names; `$page` and `$screen` stand for page and screen calls. */
  ofEvents(names: readonly string[]): number[];
  /** Kinds of every message of these types (e.g. 'track', 'page'). */
  ofTypes(types: readonly string[]): number[];
}

/**
 * The event kinds as stored now. Read them inside the transaction that reads the events, so no event can have a
 * kind the list lacks.
 *
 * @example
 * const kinds = await loadEventKinds(tx);
 * kindTest('ev.event_kind', kinds.ofEvents(['Order Completed'])); // 'ev.event_kind IN (7)'
 */
export async function loadEventKinds(wh: Warehouse): Promise<EventKinds> {
  const rows = await wh.query<{ kind: number; type: string; event: string }>(
    'SELECT kind, type, event FROM event_kinds ORDER BY kind',
  );
  const list = rows.map((r) => ({ kind: Number(r.kind), type: r.type, event: r.event }));
  return {
    ofEvents(names) {
      const wanted = new Set(names);
      return list
        .filter(
          (k) =>
            (k.type === 'track' && wanted.has(k.event)) ||
            (k.type === 'page' && wanted.has('$page')) ||
            (k.type === 'screen' && wanted.has('$screen')),
        )
        .map((k) => k.kind);
    },
    ofTypes(types) {
      const wanted = new Set(types);
      return list.filter((k) => wanted.has(k.type)).map((k) => k.kind);
    },
  };
}

/**
 * SQL that is true when `column` holds one of `kinds` (FALSE when there are none). Kinds are our own integers, so
 * they are written into the SQL: the engine then filters with them while it scans.
 *
 * @example
 * kindTest('ev.event_kind', [3, 5]); // '(ev.event_kind IN (3, 5))'
 */
export function kindTest(column: string, kinds: readonly number[]): string {
  if (kinds.length === 0) return 'FALSE';
  return `(${column} IN (${kinds.map((k) => String(Math.trunc(k))).join(', ')}))`;
}
