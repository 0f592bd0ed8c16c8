import type { Params } from '../engine/params.js';
import type { EventMatch } from './definition.js';

/**
 * Time edges: where a membership can change with no new event. A condition that compares an event's time with T − W
 * changes its answer when T passes `ts + W` for one of the events it reads. The compiler records, for each offset W,
 * which events those are — by their call type and name, the cheap part of a matcher — so that finding the people an
 * edge concerns (the incremental scope, the stream's due-time queue) reads only those events: a 1-minute abandonment
 * wait after "Checkout Started" falls due one minute after each checkout, not one minute after every page view.
 * Property filters are left out (the set is then a superset, which is safe: a person evaluated again for nothing keeps
 * their memberships).
 */

/** The events an edge concerns: a call type, and for track/page/screen calls a name (absent: any name). */
export interface EdgeEvent {
  type: 'track' | 'page' | 'screen' | 'identify';
  name?: string;
}

/** An offset W (ms) and the events whose `ts + W` can change a membership; `events: null` means any event. */
export interface TimeEdge {
  ms: number;
  events: EdgeEvent[] | null;
}

/** The edge events of a matcher: its call type and name. */
export function edgeEventOf(m: EventMatch): EdgeEvent {
  if (m.event !== undefined) return { type: 'track', name: m.event };
  if (m.page !== undefined) return { type: 'page', name: m.page };
  return { type: 'screen', name: m.screen! };
}

/**
 * Edges collected one call site at a time; each W keeps the union of the events it concerns (any event wins).
 *
 * @example
 * const edges = new TimeEdges();
 * edges.add(3_600_000, { type: 'track', name: 'Order Completed' });
 * edges.add(0, null);
 * edges.list(); // [{ ms: 0, events: null }, { ms: 3600000, events: [{ type: 'track', name: 'Order Completed' }] }]
 */
export class TimeEdges {
  private readonly byMs = new Map<number, Map<string, EdgeEvent> | null>();

  add(ms: number, event: EdgeEvent | null): void {
    const known = this.byMs.get(ms);
    if (known === null) return;
    if (event === null) {
      this.byMs.set(ms, null);
      return;
    }
    const events = known ?? new Map<string, EdgeEvent>();
    events.set(JSON.stringify([event.type, event.name ?? null]), event);
    this.byMs.set(ms, events);
  }

  list(): TimeEdge[] {
    return [...this.byMs]
      .sort(([a], [b]) => a - b)
      .map(([ms, events]) => ({
        ms,
        events: events
          ? [...events.values()].sort(
              (a, b) => a.type.localeCompare(b.type) || (a.name ?? '').localeCompare(b.name ?? ''),
            )
          : null,
      }));
  }
}

/**
 * Edges merged by offset (several compilations, or the segments' edges with the features' windows).
 *
 * @example
 * mergeEdges([{ ms: 60_000, events: [{ type: 'track', name: 'Checkout' }] }], [{ ms: 60_000, events: null }]);
 * // [{ ms: 60000, events: null }]
 */
export function mergeEdges(...lists: readonly (readonly TimeEdge[])[]): TimeEdge[] {
  const all = new TimeEdges();
  for (const list of lists) {
    for (const e of list) {
      if (e.events === null) all.add(e.ms, null);
      else for (const ev of e.events) all.add(e.ms, ev);
    }
  }
  return all.list();
}

/**
 * The SQL test that an event (`alias` with the events table's columns) is one an edge concerns, with bound names;
 * 'TRUE' for any event.
 *
 * @example
 * edgeEventTest({ ms: 60_000, events: [{ type: 'track', name: 'Checkout' }] }, 'ev', params);
 * // "((ev.type = 'track' AND ev.event IN (?)))"
 */
export function edgeEventTest(edge: TimeEdge, alias: string, params: Params): string {
  if (edge.events === null) return 'TRUE';
  if (!edge.events.length) return 'FALSE';
  const byType = new Map<EdgeEvent['type'], (string | undefined)[]>();
  for (const e of edge.events) byType.set(e.type, [...(byType.get(e.type) ?? []), e.name]);
  const tests = [...byType].map(([type, names]) => {
    const column = type === 'track' ? 'event' : 'name';
    if (type === 'identify' || names.some((n) => n === undefined)) return `${alias}.type = '${type}'`;
    return `(${alias}.type = '${type}' AND ${alias}.${column} IN (${names.map((n) => params.add(n!)).join(', ')}))`;
  });
  return `(${tests.join(' OR ')})`;
}
