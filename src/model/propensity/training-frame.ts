import { durationMs } from '../../config/duration.js';
import type { Dialect } from '../../engine/dialect.js';
import { Params } from '../../engine/params.js';
import type { Warehouse } from '../../engine/warehouse.js';
import type { ModelConfig } from '../model-config.js';

/** What a propensity model predicts for the window (T, T + horizon]. */
export type PropensityTarget = 'churn' | 'purchase';

/**
 * The predictors, each a SQL expression over one row of `features` (alias `f`) at its as-of time T (`$T`, epoch ms).
 * Counts, money and durations are heavy-tailed, so they enter as log1p; a purchase-less person's recency is replaced
 * by their tenure and flagged. Beside the features, one count is read from the events: activity in the 90 days up to T,
 * a steadier rate than the decayed engagement score. Every input is as of T, so nothing after T can leak in (the
 * tests check it).
 */
function predictors(d: Dialect, T: string, supportWindowDays: number): [name: string, sql: string][] {
  const days = (ts: string) => `((${T} - ${d.epochMs(ts)}) / 86400000.0)`;
  const log = (x: string) => `ln(1 + greatest(coalesce(${x}, 0), 0))`;
  return [
    ['days_since_seen', log(days('f.last_seen'))],
    ['days_since_active', log(`coalesce(${days('f.last_activity')}, ${days('f.first_seen')})`)],
    ['tenure_days', log(days('f.first_seen'))],
    ['purchased', 'CASE WHEN f.rfm_frequency > 0 THEN 1.0 ELSE 0.0 END'],
    ['days_since_purchase', log(`coalesce(f.rfm_recency_days, ${days('f.first_seen')})`)],
    ['purchases', log('f.rfm_frequency')],
    ['revenue', log('f.rfm_monetary_total')],
    ['order_value', log('f.rfm_monetary_avg')],
    ['engagement', log('f.engagement_score')],
    ['adoption_breadth', log('f.adoption_breadth')],
    ['adoption_uses', log('f.adoption_uses')],
    ['key_feature', 'CASE WHEN f.adoption_key_activated THEN 1.0 ELSE 0.0 END'],
    ['usage_share', 'coalesce(f.adoption_usage_share, 0.0)'],
    ['intent', log('f.intent_score')],
    ['tickets', log('f.support_tickets')],
    // Rates per 30 days: a count means little without the time it was counted over (tenure, capped at the window).
    [
      'ticket_rate',
      log(`30.0 * f.support_tickets / greatest(least(${days('f.first_seen')}, ${supportWindowDays}), 1)`),
    ],
    ['purchase_rate', log(`30.0 * f.rfm_frequency / greatest(${days('f.first_seen')}, 1)`)],
    ['activity_rate', log(`30.0 * coalesce(act.n, 0) / greatest(least(${days('f.first_seen')}, 90), 1)`)],
    ['open_tickets', log('f.support_open_tickets')],
    ['detractor', 'CASE WHEN f.support_detractor THEN 1.0 ELSE 0.0 END'],
  ];
}

export interface FrameOptions {
  target: PropensityTarget;
  horizon: string;
  /** The snapshot: features as of T must have been refreshed. */
  asOf: Date;
  /** Read the label from (T, T + horizon]; false when scoring (the future is unknown). */
  withLabels: boolean;
  config: ModelConfig;
}

export interface Frame {
  personIds: string[];
  columns: readonly string[];
  values: Float64Array[];
  /** 1 when the outcome happened in the label window (churn: no activity; purchase: a purchase). */
  labels: Uint8Array;
}

/**
 * The rows of one snapshot: people in the population at T with their predictors and, for training and backtests,
 * the label from the window after T. Churn is asked of people active in the horizon before T (a person long gone is
 * not a churn risk, they are churned); purchase of everyone seen by T.
 */
export async function snapshotFrame(wh: Warehouse, o: FrameOptions): Promise<Frame> {
  const p = new Params();
  const T = p.add(o.asOf.getTime());
  const asOf = p.add(o.asOf);
  const n = durationMs(o.horizon);
  const cols = predictors(wh.dialect, T, durationMs(o.config.support.window) / 86_400_000);
  const population =
    o.target === 'churn' ? `AND f.last_activity > ${p.add(new Date(o.asOf.getTime() - n))}` : '';
  let label = 'NULL';
  let labelJoin = '';
  if (o.withLabels) {
    const from = asOf;
    const to = p.add(new Date(o.asOf.getTime() + n));
    const happened =
      o.target === 'churn'
        ? `ev.type IN ('track', 'page', 'screen')`
        : `ev.type = 'track' AND ev.event IN (${o.config.purchase.events.map((e) => p.add(e)).join(', ')})`;
    labelJoin = `LEFT JOIN (SELECT DISTINCT ev.person_id FROM person_events ev
        WHERE ev.ts > ${from} AND ev.ts <= ${to} AND ${happened}) lw ON lw.person_id = f.person_id`;
    label = o.target === 'churn' ? 'lw.person_id IS NULL' : 'lw.person_id IS NOT NULL';
  }
  const sql = `SELECT f.person_id, ${cols.map(([name, expr]) => `CAST(${expr} AS DOUBLE) AS ${name}`).join(', ')},
      ${label} AS label
    FROM features f ${labelJoin}
    LEFT JOIN (SELECT ev.person_id, count(*) AS n FROM person_events ev
      WHERE ev.ts <= ${asOf} AND ev.ts > ${p.add(new Date(o.asOf.getTime() - 90 * 86_400_000))}
        AND ev.type IN ('track', 'page', 'screen')
      GROUP BY ev.person_id) act ON act.person_id = f.person_id
    WHERE f.as_of = ${asOf} ${population}
    ORDER BY f.person_id`;
  const rows = await wh.query<Record<string, unknown>>(sql, p.values);
  const values = cols.map(() => new Float64Array(rows.length));
  const labels = new Uint8Array(rows.length);
  const personIds: string[] = new Array(rows.length);
  rows.forEach((r, i) => {
    personIds[i] = String(r.person_id);
    cols.forEach(([name], j) => {
      values[j]![i] = Number(r[name] ?? 0);
    });
    labels[i] = r.label ? 1 : 0;
  });
  return { personIds, columns: cols.map(([name]) => name), values, labels };
}

/** Rows of several frames, one after the other. */
export function concatFrames(frames: readonly Frame[]): Frame {
  const total = frames.reduce((s, f) => s + f.labels.length, 0);
  const columns = frames[0]?.columns ?? [];
  const values = columns.map(() => new Float64Array(total));
  const labels = new Uint8Array(total);
  const personIds: string[] = [];
  let at = 0;
  for (const f of frames) {
    for (const [j, col] of f.values.entries()) values[j]!.set(col, at);
    labels.set(f.labels, at);
    personIds.push(...f.personIds);
    at += f.labels.length;
  }
  return { personIds, columns, values, labels };
}
