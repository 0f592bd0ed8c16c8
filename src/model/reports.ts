import { z } from 'zod';
import { Params } from '../engine/params.js';
import type { Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';
import { Timestamp } from '../shared/timestamp.js';
import { featureColumn } from './feature-catalog.js';
import { funnelChainSql } from './feature-sql.js';
import type { ModelConfig } from './model-config.js';

/** Reports over the features: the RFM grid and funnels. */

async function latestAsOf(wh: Warehouse, asOf?: Date): Promise<Date> {
  const [row] = await wh.query<{ as_of: Date | null }>(
    'SELECT max(as_of) AS as_of FROM features WHERE as_of <= ?',
    [asOf ?? new Date('9999-12-31T00:00:00Z')],
  );
  if (!row?.as_of) {
    throw new SegflowError('NOT_FOUND', 'no features have been computed yet', 'run `segflow refresh` first');
  }
  return row.as_of;
}

export const RfmReportSchema = z
  .object({
    asOf: Timestamp,
    customers: z.number(),
    revenue: z.number(),
    cells: z
      .array(z.object({ r: z.number(), f: z.number(), customers: z.number(), revenueShare: z.number() }))
      .describe('one cell per R, F = 1…5 with customers, highest R first'),
    groups: z.array(
      z.object({ group: z.string(), customers: z.number(), share: z.number(), revenueShare: z.number() }),
    ),
    nonBuyers: z.number(),
  })
  .meta({ id: 'RfmReport' });
export type RfmReport = z.output<typeof RfmReportSchema>;

export async function rfmReport(wh: Warehouse, options: { asOf?: Date } = {}): Promise<RfmReport> {
  const asOf = await latestAsOf(wh, options.asOf);
  const cells = await wh.query<{ r: number; f: number; n: number; revenue: number }>(
    `SELECT rfm_r AS r, rfm_f AS f, count(*) AS n, sum(rfm_monetary_total) AS revenue
     FROM features WHERE as_of = ? AND rfm_r IS NOT NULL GROUP BY 1, 2`,
    [asOf],
  );
  const groups = await wh.query<{ g: string; n: number; revenue: number }>(
    `SELECT rfm_group AS g, count(*) AS n, sum(rfm_monetary_total) AS revenue
     FROM features WHERE as_of = ? AND rfm_group IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1`,
    [asOf],
  );
  const [non] = await wh.query<{ n: number }>(
    'SELECT count(*) AS n FROM features WHERE as_of = ? AND rfm_r IS NULL',
    [asOf],
  );
  const customers = cells.reduce((s, c) => s + Number(c.n), 0);
  const revenue = cells.reduce((s, c) => s + Number(c.revenue), 0);
  return {
    asOf,
    customers,
    revenue,
    cells: cells
      .map((c) => ({
        r: c.r,
        f: c.f,
        customers: Number(c.n),
        revenueShare: revenue ? Number(c.revenue) / revenue : 0,
      }))
      .sort((a, b) => b.r - a.r || a.f - b.f),
    groups: groups.map((g) => ({
      group: g.g,
      customers: Number(g.n),
      share: Number(g.n) / Math.max(1, customers),
      revenueShare: revenue ? Number(g.revenue) / revenue : 0,
    })),
    nonBuyers: Number(non?.n ?? 0),
  };
}

export const FunnelReportSchema = z
  .object({
    funnel: z.string(),
    asOf: Timestamp,
    steps: z.array(z.string()),
    within: z.string().describe('how long a person has from the first step to the last'),
    rows: z
      .array(
        z.object({
          segment: z.string().nullable().describe('the split value (null: everyone)'),
          steps: z.array(
            z.object({
              step: z.string(),
              people: z.number(),
              fromPrevious: z.number(),
              fromStart: z.number(),
              medianHoursFromPrevious: z.number().nullable(),
            }),
          ),
        }),
      )
      .describe('one row overall, or one per value of the split feature'),
    warnings: z
      .array(z.string())
      .describe('what a reader of zeros should know: nobody performed the first step'),
  })
  .meta({ id: 'FunnelReport' });
export type FunnelReport = z.output<typeof FunnelReportSchema>;

/**
 * People per step of a configured funnel (each person's best chain: the furthest it got, then the earliest start),
 * conversion from the previous step and from the first, and the median time between steps — overall, or split by
 * the value of a feature (`--by rfm.group`).
 */
export async function funnelReport(
  wh: Warehouse,
  cfg: ModelConfig,
  name: string,
  options: { asOf?: Date; by?: string } = {},
): Promise<FunnelReport> {
  const f = cfg.funnels[name];
  if (!f) {
    throw new SegflowError(
      'NOT_FOUND',
      `no funnel named '${name}'`,
      `configured funnels: ${Object.keys(cfg.funnels).join(', ') || '(none)'} — add one under model.funnels in segflow.config.yaml`,
    );
  }
  const d = wh.dialect;
  const asOf = options.by ? await latestAsOf(wh, options.asOf) : (options.asOf ?? new Date());
  const p = new Params();
  const T = p.add(asOf);
  const chain = funnelChainSql(d, p, 'fr', f.steps, f.within);
  let byJoin = '';
  let bySelect = 'CAST(NULL AS VARCHAR)';
  if (options.by) {
    const col = featureColumn(d, options.by);
    if (!col) {
      throw new SegflowError(
        'USAGE',
        `--by '${options.by}' is not a feature`,
        'use a feature name such as rfm.group or engagement.tier',
      );
    }
    byJoin = `LEFT JOIN (SELECT * FROM features WHERE as_of = ${p.add(asOf)}) f ON f.person_id = best.person_id`;
    bySelect = `CAST(${col.sql} AS VARCHAR)`;
  }
  const perStep = f.steps
    .map((_, k) => {
      const people = `${d.aggregateIf('count(*)', `reached >= ${k + 1}`)} AS n${k}`;
      const gap =
        k === 0
          ? `CAST(NULL AS DOUBLE) AS g${k}`
          : `${d.aggregateIf(d.median(`(${d.epochMs(`t${k}`)} - ${d.epochMs(`t${k - 1}`)}) / 3600000.0`), `reached >= ${k + 1}`)} AS g${k}`;
      return `${people}, ${gap}`;
    })
    .join(', ');
  const sql = `WITH ev AS (SELECT person_id, ts, type, event FROM person_events WHERE ts <= ${T}),
    ${chain},
    best AS (SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY person_id ORDER BY reached DESC, t0) AS k FROM fr_chain) WHERE k = 1)
    SELECT ${bySelect} AS segment, ${perStep} FROM best ${byJoin} GROUP BY 1 ORDER BY 2 DESC`;
  const found = await wh.query<Record<string, unknown>>(sql, p.values);
  // Nobody started: one row of zeros rather than no rows, and a warning naming the first step.
  const rows = found.length === 0 && !options.by ? [{ segment: null }] : found;
  const warnings =
    found.length === 0
      ? [
          `nobody performed '${f.steps[0]}' (the funnel's first step) up to ${asOf.toISOString()}; check the step names under model.funnels.${name} in segflow.config.yaml against \`segflow stats\``,
        ]
      : [];
  return {
    funnel: name,
    asOf,
    steps: f.steps,
    within: f.within,
    warnings,
    rows: rows.map((r) => ({
      segment: (r.segment as string | null) ?? null,
      steps: f.steps.map((step, k) => {
        const people = Number(r[`n${k}`] ?? 0);
        const prev = k === 0 ? people : Number(r[`n${k - 1}`] ?? 0);
        const first = Number(r.n0 ?? 0);
        const gap = r[`g${k}`];
        return {
          step,
          people,
          fromPrevious: prev ? people / prev : 0,
          fromStart: first ? people / first : 0,
          medianHoursFromPrevious: gap === null || gap === undefined ? null : Number(gap),
        };
      }),
    })),
  };
}
