import { z } from 'zod';
import type { Warehouse } from '../engine/warehouse.js';
import { DELIVERY_STATUSES } from './outbox.js';

/**
 * Deliveries by status per day (the day each was decided), for the Plays page's chart: is a play sending, held out,
 * blocked by its guards, or dying at its destination? The last `days` days that have deliveries, one play or all.
 */
export const DeliveryActivitySchema = z
  .object({
    days: z.array(
      z.object({
        day: z.string().describe('YYYY-MM-DD (UTC)'),
        status: z.enum(DELIVERY_STATUSES),
        deliveries: z.int(),
      }),
    ),
    dead: z.int().describe('dead deliveries now (retry them by hand)'),
  })
  .meta({ id: 'DeliveryActivity' });
export type DeliveryActivity = z.output<typeof DeliveryActivitySchema>;

export async function deliveryActivity(
  wh: Warehouse,
  options: { play?: string; days?: number } = {},
): Promise<DeliveryActivity> {
  const d = wh.dialect;
  const where = options.play ? 'WHERE play = ?' : '';
  const params = options.play ? [options.play] : [];
  const [last] = await wh.query<{ ts: Date | null; dead: bigint }>(
    `SELECT max(created_at) AS ts, ${d.aggregateIf('count(*)', "status = 'dead'")} AS dead FROM deliveries ${where}`,
    params,
  );
  if (!last?.ts) return { days: [], dead: 0 };
  const since = new Date(last.ts.getTime() - (options.days ?? 60) * 86_400_000);
  const rows = await wh.query<{ day: unknown; status: (typeof DELIVERY_STATUSES)[number]; n: bigint }>(
    `SELECT ${d.isoText(d.dayOf('created_at'))} AS day, status, count(*) AS n FROM deliveries
     WHERE created_at > ? ${options.play ? 'AND play = ?' : ''} GROUP BY 1, 2 ORDER BY 1, 2`,
    [since, ...params],
  );
  return {
    days: rows.map((r) => ({ day: String(r.day).slice(0, 10), status: r.status, deliveries: Number(r.n) })),
    dead: Number(last.dead),
  };
}
