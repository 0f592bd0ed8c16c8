import type { Warehouse } from '../engine/warehouse.js';

export interface WarehouseSummary {
  events: number;
  persons: number;
  identifiedPersons: number;
  accounts: number;
  /** Sum of revenue of `Order Completed` events. */
  revenue: number;
  /** People with at least one `Order Completed`. */
  purchasers: number;
  firstEvent: Date | null;
  lastEvent: Date | null;
  rejected: number;
  byType: { type: string; events: number }[];
  topEvents: { event: string; events: number; persons: number }[];
}

/** What is in the database: the numbers a growth marketer checks first after an import. */
export async function summarize(wh: Warehouse): Promise<WarehouseSummary> {
  const d = wh.dialect;
  const [totals] = await wh.query<{
    events: number;
    revenue: number | null;
    purchasers: number;
    first: Date | null;
    last: Date | null;
  }>(
    // Revenue counts completed orders only (Segment's e-commerce spec): checkout and cart events carry totals too.
    `SELECT count(*) AS events, round(${d.aggregateIf('sum(revenue)', "event = 'Order Completed'")}, 2) AS revenue,
            ${d.aggregateIf('count(DISTINCT person_id)', "event = 'Order Completed'")} AS purchasers,
            min(ts) AS first, max(ts) AS last FROM person_events`,
  );
  const [people] = await wh.query<{ persons: number; identified: number }>(
    `SELECT count(*) AS persons, ${d.aggregateIf('count(*)', 'identified')} AS identified FROM persons`,
  );
  const [acc] = await wh.query<{ n: number }>(`SELECT count(*) AS n FROM accounts`);
  const [rej] = await wh.query<{ n: number }>(`SELECT count(*) AS n FROM rejected_events`);
  const byType = await wh.query<{ type: string; events: number }>(
    `SELECT type, count(*) AS events FROM events GROUP BY type ORDER BY events DESC, type`,
  );
  const topEvents = await wh.query<{ event: string; events: number; persons: number }>(
    `SELECT event, count(*) AS events, count(DISTINCT person_id) AS persons FROM person_events
     WHERE type = 'track' GROUP BY event ORDER BY events DESC, event LIMIT 10`,
  );
  return {
    events: totals?.events ?? 0,
    persons: people?.persons ?? 0,
    identifiedPersons: people?.identified ?? 0,
    accounts: acc?.n ?? 0,
    revenue: totals?.revenue ?? 0,
    purchasers: totals?.purchasers ?? 0,
    firstEvent: totals?.first ?? null,
    lastEvent: totals?.last ?? null,
    rejected: rej?.n ?? 0,
    byType,
    topEvents,
  };
}
