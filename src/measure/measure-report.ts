import { z } from 'zod';
import { durationMs } from '../config/duration.js';
import { Params } from '../engine/params.js';
import type { Warehouse } from '../engine/warehouse.js';
import { SegflowError } from '../errors.js';
import { HOLDOUT_ARM } from '../shared/arm-assignment.js';
import { didYouMeanSuffix } from '../shared/did-you-mean.js';
import { Timestamp } from '../shared/timestamp.js';
import { type CorrectionMethod, correctPValues } from './corrections.js';
import { CupedLiftResultSchema, cupedLift } from './cuped.js';
import { KpiDefinition } from './kpi.js';
import { LiftResultSchema, meanLift, proportionLift, ratioLift } from './lift.js';
import { type MdeResult, MdeResultSchema, minimumDetectableEffect } from './power.js';
import { SrmResultSchema, sampleRatioMismatch } from './srm.js';

/**
 * The lift report of one play: for every KPI (and every segment asked for), the treatment arm against the holdout,
 * people counted from their first exposure to the play. SQL computes each person's KPI value and pre-period
 * covariate and sums them per arm; only the per-arm sums reach JavaScript, where the statistics run.
 */
export interface MeasureReportOptions {
  play: string;
  kpis: readonly { name: string; definition: KpiDefinition }[];
  /** People whose window ends after this are not counted yet; default now. */
  asOf?: Date;
  /** The planned holdout share, for the sample-ratio check and the MDE; read from the play when not given. */
  holdoutShare?: number;
  /** Also report within these segments (membership at the person's first exposure). */
  segments?: readonly string[];
  purchaseEvents?: readonly string[];
  alpha?: number;
}

export const KpiLiftSchema = z
  .object({
    kpi: z.string(),
    kind: z.enum(
      KpiDefinition.options.map((o) => o.shape.kind.value) as [
        KpiDefinition['kind'],
        ...KpiDefinition['kind'][],
      ],
    ),
    segment: z
      .string()
      .nullable()
      .describe('null for everyone exposed; else a segment the person was in at first exposure'),
    pending: z.number().describe("people exposed whose window has not ended by the report's time (left out)"),
    lift: LiftResultSchema.nullable(),
    cuped: CupedLiftResultSchema.nullable().describe(
      'with a pre-period covariate: the CUPED-adjusted comparison (null when the KPI has none)',
    ),
    holmP: z.number().nullable().describe('p-value adjusted over every KPI × segment row of the report'),
    benjaminiHochbergP: z.number().nullable(),
    note: z.string().optional().describe('why there is no lift (too few people in an arm, …)'),
  })
  .meta({ id: 'KpiLift' });
export type KpiLift = z.output<typeof KpiLiftSchema>;

export const MeasureReportSchema = z
  .object({
    play: z.string(),
    asOf: Timestamp,
    arms: z.array(z.object({ arm: z.string(), people: z.number() })),
    firstExposure: Timestamp.nullable(),
    lastExposure: Timestamp.nullable(),
    srm: SrmResultSchema.nullable(),
    holdoutShare: z.number().nullable(),
    rows: z.array(KpiLiftSchema),
    mde: MdeResultSchema.nullable().describe(
      'the smallest lift of the first KPI detectable with 80% power at the people exposed so far',
    ),
  })
  .meta({ id: 'MeasureReport', description: 'see docs/measure.md' });
export type MeasureReport = z.output<typeof MeasureReportSchema>;

interface ArmRow {
  arm: string;
  n: number;
  y: number;
  y2: number;
  x: number;
  x2: number;
  xy: number;
  den: number;
  den2: number;
  nd: number;
}

function kpiWindowMs(k: KpiDefinition): number {
  switch (k.kind) {
    case 'conversion':
    case 'activation':
    case 'revenue':
    case 'repeat_purchase':
      return durationMs(k.within);
    case 'ltv':
      return k.predicted ? 0 : durationMs(k.horizon ?? '90d');
    case 'retention':
      return durationMs(k.period) * k.k;
    case 'grr':
    case 'nrr':
      return durationMs(k.period);
    default: {
      const never: never = k;
      throw new Error(`unknown KPI ${String(never)}`);
    }
  }
}

/**
 * Per-person (y, x, den) for a KPI, as SQL over `f` (person_id, arm, t0) and their events `ev`, aggregated per
 * person: y the KPI, x the pre-period covariate (NULL when none), den the denominator of a ratio KPI.
 */
function personKpiSql(
  wh: Warehouse,
  p: Params,
  k: KpiDefinition,
  purchase: readonly string[],
): { select: string; eventsFrom: number; where?: string; ratio: boolean; covariate: boolean } {
  const d = wh.dialect;
  const t0 = 'f.t0';
  const inWindow = (fromMs: number, toMs: number) =>
    `ev.ts > ${d.plusMs(t0, fromMs)} AND ev.ts <= ${d.plusMs(t0, toMs)}`;
  const isPurchase = (events?: readonly string[]) =>
    `ev.type = 'track' AND ev.event IN (${(events ?? purchase).map((e) => p.add(e)).join(', ')})`;
  const matches = (m: { event: string; property?: string; equals?: string }) => {
    let s = `ev.type = 'track' AND ev.event = ${p.add(m.event)}`;
    if (m.property) {
      const value = d.jsonText('ev.properties', p.add(`$."${m.property.replaceAll('"', '\\"')}"`));
      s += m.equals !== undefined ? ` AND ${value} = ${p.add(m.equals)}` : ` AND ${value} IS NOT NULL`;
    }
    return s;
  };
  const any = (cond: string) => `CASE WHEN ${d.boolOr(cond)} THEN 1.0 ELSE 0.0 END`;
  const sum = (value: string, cond: string) => `coalesce(sum(CASE WHEN ${cond} THEN ${value} END), 0.0)`;
  const active = `ev.type IN ('track', 'page', 'screen')`;
  switch (k.kind) {
    case 'conversion':
    case 'activation': {
      const w = durationMs(k.within);
      return {
        select: `${any(`${matches(k)} AND ${inWindow(0, w)}`)} AS y, ${any(`${matches(k)} AND ${inWindow(-w, 0)}`)} AS x, NULL AS den`,
        eventsFrom: -w,
        ratio: false,
        covariate: true,
      };
    }
    case 'revenue': {
      const w = durationMs(k.within);
      return {
        select: `${sum('ev.revenue', `${isPurchase(k.events)} AND ${inWindow(0, w)}`)} AS y,
          ${sum('ev.revenue', `${isPurchase(k.events)} AND ${inWindow(-w, 0)}`)} AS x, NULL AS den`,
        eventsFrom: -w,
        ratio: false,
        covariate: true,
      };
    }
    case 'ltv': {
      if (k.predicted) {
        return {
          select: `max(pr.clv) AS y, NULL AS x, NULL AS den`,
          eventsFrom: 0,
          ratio: false,
          covariate: false,
        };
      }
      const w = durationMs(k.horizon ?? '90d');
      return {
        select: `${sum('ev.revenue', `${isPurchase(k.events)} AND ${inWindow(0, w)}`)} AS y,
          ${sum('ev.revenue', `${isPurchase(k.events)} AND ${inWindow(-w, 0)}`)} AS x, NULL AS den`,
        eventsFrom: -w,
        ratio: false,
        covariate: true,
      };
    }
    case 'retention': {
      const per = durationMs(k.period);
      return {
        select: `${any(`${active} AND ${inWindow((k.k - 1) * per, k.k * per)}`)} AS y, ${any(`${active} AND ${inWindow(-per, 0)}`)} AS x, NULL AS den`,
        eventsFrom: -per,
        ratio: false,
        covariate: true,
      };
    }
    case 'repeat_purchase': {
      const w = durationMs(k.within);
      return {
        select: `${any(`${isPurchase(k.events)} AND ${inWindow(0, w)}`)} AS y, ${any(`${isPurchase(k.events)} AND ${inWindow(-w, 0)}`)} AS x, NULL AS den`,
        // Every purchase before t0 decides who is in the population.
        eventsFrom: Number.NEGATIVE_INFINITY,
        where: `bought_before > 0`,
        ratio: false,
        covariate: true,
      };
    }
    case 'grr':
    case 'nrr': {
      const per = durationMs(k.period);
      const before = sum('ev.revenue', `${isPurchase(k.events)} AND ${inWindow(-per, 0)}`);
      const after = sum('ev.revenue', `${isPurchase(k.events)} AND ${inWindow(0, per)}`);
      return {
        select: `${k.kind === 'grr' ? `least(${after}, ${before})` : after} AS y, NULL AS x, ${before} AS den`,
        eventsFrom: -per,
        where: 'den > 0',
        ratio: true,
        covariate: false,
      };
    }
    default: {
      const never: never = k;
      throw new Error(`unknown KPI ${String(never)}`);
    }
  }
}

async function armRows(
  wh: Warehouse,
  args: {
    play: string;
    kpi: KpiDefinition;
    asOf: Date;
    segment: string | null;
    purchase: readonly string[];
  },
): Promise<{ rows: ArmRow[]; pending: number; ratio: boolean; covariate: boolean }> {
  const p = new Params();
  const d = wh.dialect;
  const play = p.add(args.play);
  const windowMs = kpiWindowMs(args.kpi);
  const k = personKpiSql(wh, p, args.kpi, args.purchase);
  const asOf = p.add(args.asOf);
  const segmentParam = args.segment === null ? null : p.add(args.segment);
  // Members of the segment at their first exposure (membership history, so later exits do not matter).
  const inSegment = (alias: string) =>
    segmentParam === null
      ? ''
      : `AND EXISTS (SELECT 1 FROM segment_memberships m WHERE m.segment = ${segmentParam}
           AND m.person_id = ${alias}.person_id AND m.entered_at <= ${alias}.t0
           AND (m.exited_at IS NULL OR m.exited_at > ${alias}.t0))`;
  const eventsFrom =
    k.eventsFrom === Number.NEGATIVE_INFINITY ? '' : `AND ev.ts > ${d.plusMs('f.t0', k.eventsFrom)}`;
  const boughtBefore =
    args.kpi.kind === 'repeat_purchase'
      ? `, ${d.aggregateIf('count(*)', `ev.type = 'track' AND ev.event IN (${(args.kpi.events ?? args.purchase).map((e) => p.add(e)).join(', ')}) AND ev.ts <= f.t0`)} AS bought_before`
      : '';
  const predictions =
    args.kpi.kind === 'ltv' && args.kpi.predicted
      ? `LEFT JOIN (SELECT * FROM predictions WHERE as_of = (SELECT max(as_of) FROM predictions WHERE as_of <= ${asOf})) pr
           ON pr.person_id = f.person_id`
      : '';
  const sql = `
    WITH first AS (
      SELECT person_id, ${d.argMin('arm', '(exposed_at, arm)')} AS arm, min(exposed_at) AS t0
      FROM exposures WHERE play = ${play} AND exposed_at <= ${asOf} GROUP BY person_id),
    f AS (SELECT * FROM first WHERE ${d.plusMs('t0', windowMs)} <= ${asOf} ${inSegment('first')}),
    per_person AS (
      SELECT f.person_id, f.arm, ${k.select}${boughtBefore}
      FROM f LEFT JOIN person_events ev ON ev.person_id = f.person_id ${eventsFrom}
        AND ev.ts <= ${d.plusMs('f.t0', windowMs)}
      ${predictions}
      GROUP BY f.person_id, f.arm)
    SELECT arm, count(*) AS n, sum(y) AS y, sum(y * y) AS y2, sum(x) AS x, sum(x * x) AS x2, sum(x * y) AS xy,
      sum(den) AS den, sum(den * den) AS den2, sum(y * den) AS nd,
      (SELECT count(*) FROM first WHERE ${d.plusMs('t0', windowMs)} > ${asOf} ${inSegment('first')}) AS pending
    FROM per_person WHERE y IS NOT NULL ${k.where ? `AND ${k.where}` : ''}
    GROUP BY arm ORDER BY arm`;
  const rows = await wh.query<Record<string, unknown>>(sql, p.values);
  const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
  let pending = 0;
  const out: ArmRow[] = rows.map((r) => {
    pending = num(r.pending);
    return {
      arm: String(r.arm),
      n: num(r.n),
      y: num(r.y),
      y2: num(r.y2),
      x: num(r.x),
      x2: num(r.x2),
      xy: num(r.xy),
      den: num(r.den),
      den2: num(r.den2),
      nd: num(r.nd),
    };
  });
  if (!rows.length) {
    const [pend] = await wh.query<{ n: number }>(
      `SELECT count(*) AS n FROM (SELECT person_id, min(exposed_at) AS t0 FROM exposures WHERE play = ? GROUP BY person_id)
       WHERE ${d.plusMs('t0', windowMs)} > ?`,
      [args.play, args.asOf],
    );
    pending = num(pend?.n);
  }
  return { rows: out, pending, ratio: k.ratio, covariate: k.covariate };
}

function isBinary(kind: KpiDefinition['kind']): boolean {
  return kind === 'conversion' || kind === 'activation' || kind === 'retention' || kind === 'repeat_purchase';
}

/** The play as last recorded by activation (its planned holdout share and primary KPI), if any. */
export async function playOf(
  wh: Warehouse,
  play: string,
): Promise<{ holdout: number | null; kpi: string | null } | null> {
  const [row] = await wh.query<{ definition: string }>('SELECT definition FROM plays WHERE name = ?', [play]);
  if (!row) return null;
  try {
    const d = JSON.parse(row.definition) as { holdout?: number; kpi?: string };
    return {
      holdout: typeof d.holdout === 'number' ? d.holdout : null,
      kpi: typeof d.kpi === 'string' ? d.kpi : null,
    };
  } catch {
    return null;
  }
}

/** Every play activation has recorded or exposed someone to, by name. */
async function knownPlays(wh: Warehouse): Promise<string[]> {
  const rows = await wh.query<{ name: string }>(
    'SELECT name FROM plays UNION SELECT DISTINCT play AS name FROM exposures ORDER BY name',
  );
  return rows.map((r) => r.name);
}

export async function measureReport(wh: Warehouse, o: MeasureReportOptions): Promise<MeasureReport> {
  const asOf = o.asOf ?? new Date();
  const purchase = o.purchaseEvents ?? ['Order Completed'];
  const arms = await wh.query<{ arm: string; people: number; first: Date; last: Date }>(
    `SELECT arm, count(DISTINCT person_id) AS people, min(exposed_at) AS first, max(exposed_at) AS last
     FROM exposures WHERE play = ? AND exposed_at <= ? GROUP BY arm ORDER BY arm`,
    [o.play, asOf],
  );
  if (arms.length === 0) {
    // A misspelled play and a play with no exposures yet need different fixes: tell them apart.
    const known = await knownPlays(wh);
    if (!known.includes(o.play)) {
      throw new SegflowError(
        'NOT_FOUND',
        `no such play '${o.play}'${didYouMeanSuffix(o.play, known)}`,
        known.length
          ? `plays that have run: ${known.join(', ')}`
          : 'no play has run yet: `segflow activate run` runs the playbook and records who was exposed',
      );
    }
    throw new SegflowError(
      'NOT_FOUND',
      `no exposures for play '${o.play}' up to ${asOf.toISOString()}`,
      'a play with a destination records exposures when `segflow activate run` decides about people; an in-app play ' +
        '(no destination) records them when decide() serves it — `segflow decide`, GET /api/v1/decide/:personId — ' +
        'not when it is asked as of a time or with record=false',
    );
  }
  const holdoutShare = o.holdoutShare ?? (await playOf(wh, o.play))?.holdout ?? null;
  const holdoutPeople = Number(arms.find((a) => a.arm === HOLDOUT_ARM)?.people ?? 0);
  const treatedPeople = arms.filter((a) => a.arm !== HOLDOUT_ARM).reduce((s, a) => s + Number(a.people), 0);
  const srm =
    holdoutShare !== null && holdoutShare > 0 && holdoutShare < 1
      ? sampleRatioMismatch({
          counts: [treatedPeople, holdoutPeople],
          weights: [1 - holdoutShare, holdoutShare],
        })
      : null;
  const rows: KpiLift[] = [];
  for (const segment of [null, ...(o.segments ?? [])]) {
    for (const { name, definition } of o.kpis) {
      const r = await armRows(wh, { play: o.play, kpi: definition, asOf, segment, purchase });
      const control = r.rows.find((a) => a.arm === HOLDOUT_ARM);
      // Every non-holdout arm is the play's treatment (variants are compared together against the holdout).
      const treated = r.rows.filter((a) => a.arm !== HOLDOUT_ARM);
      const t = treated.reduce<ArmRow | null>(
        (acc, a) =>
          acc
            ? {
                arm: 'treatment',
                n: acc.n + a.n,
                y: acc.y + a.y,
                y2: acc.y2 + a.y2,
                x: acc.x + a.x,
                x2: acc.x2 + a.x2,
                xy: acc.xy + a.xy,
                den: acc.den + a.den,
                den2: acc.den2 + a.den2,
                nd: acc.nd + a.nd,
              }
            : { ...a, arm: 'treatment' },
        null,
      );
      const row: KpiLift = {
        kpi: name,
        kind: definition.kind,
        segment,
        pending: r.pending,
        lift: null,
        cuped: null,
        holmP: null,
        benjaminiHochbergP: null,
      };
      if (!control || !t || control.n < 2 || t.n < 2) {
        row.note = `too few people with a complete window in an arm (holdout ${control?.n ?? 0}, treatment ${t?.n ?? 0})`;
        rows.push(row);
        continue;
      }
      try {
        if (r.ratio) {
          const agg = (a: ArmRow) => ({
            n: a.n,
            numerator: { sum: a.y, sumSquares: a.y2 },
            denominator: { sum: a.den, sumSquares: a.den2 },
            sumProducts: a.nd,
          });
          row.lift = ratioLift({ control: agg(control), treatment: agg(t), alpha: o.alpha });
        } else if (isBinary(definition.kind)) {
          row.lift = proportionLift({
            control: { n: control.n, conversions: control.y },
            treatment: { n: t.n, conversions: t.y },
            alpha: o.alpha,
          });
        } else {
          row.lift = meanLift({
            control: { n: control.n, sum: control.y, sumSquares: control.y2 },
            treatment: { n: t.n, sum: t.y, sumSquares: t.y2 },
            alpha: o.alpha,
          });
        }
        if (r.covariate) {
          const cov = (a: ArmRow) => ({
            n: a.n,
            post: { sum: a.y, sumSquares: a.y2 },
            pre: { sum: a.x, sumSquares: a.x2 },
            sumProducts: a.xy,
          });
          row.cuped = cupedLift({ control: cov(control), treatment: cov(t), alpha: o.alpha });
        }
      } catch (e) {
        row.note = (e as Error).message;
      }
      rows.push(row);
    }
  }
  // Several KPIs or segments read at once: adjust their p-values (CUPED's when there is one).
  const tested = rows.filter((r) => r.lift);
  if (tested.length > 1) {
    const pValues = tested.map((r) => (r.cuped ?? r.lift)!.absolute.pValue);
    const adjust = (method: CorrectionMethod) => correctPValues({ pValues, method, alpha: o.alpha }).adjusted;
    const holm = adjust('holm');
    const bh = adjust('benjamini-hochberg');
    tested.forEach((r, i) => {
      r.holmP = holm[i]!;
      r.benjaminiHochbergP = bh[i]!;
    });
  }
  let mde: MdeResult | null = null;
  const first = rows.find((r) => r.segment === null && r.lift);
  if (first?.lift && holdoutShare !== null && holdoutShare > 0 && holdoutShare < 1) {
    const c = first.lift.control;
    const people = first.lift.control.n + first.lift.treatment.n;
    try {
      mde = minimumDetectableEffect({
        metric:
          isBinary(first.kind) && c.mean > 0 && c.mean < 1
            ? { kind: 'proportion', baselineRate: c.mean }
            : { kind: 'mean', baselineMean: c.mean, standardDeviation: Math.sqrt(c.variance) },
        holdoutShare,
        people,
        ...(o.alpha ? { alpha: o.alpha } : {}),
      });
    } catch {
      mde = null;
    }
  }
  return {
    play: o.play,
    asOf,
    arms: arms.map((a) => ({ arm: a.arm, people: Number(a.people) })),
    firstExposure: arms.reduce<Date | null>((m, a) => (!m || a.first < m ? a.first : m), null),
    lastExposure: arms.reduce<Date | null>((m, a) => (!m || a.last > m ? a.last : m), null),
    srm,
    holdoutShare,
    rows,
    mde,
  };
}
