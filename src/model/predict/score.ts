import type { Warehouse } from '../../engine/warehouse.js';
import { isSegflowError, SegflowError } from '../../errors.js';
import { type BgNbdModel, bgnbdExpectedPurchases, bgnbdProbabilityAlive } from './bgnbd.js';
import { discountedPurchases, type LifetimeValueOptions } from './clv.js';
import { type GammaGammaParams, gammaGammaPopulationMean } from './gamma-gamma.js';
import { getModelFit, type StoredFit } from './model-fits.js';
import { personSummarySql } from './summarize.js';
import { type Duration, formatDuration, inUnit, secondsPerUnit, type TimeUnit } from './time-unit.js';

export interface ScoreOptions {
  /** Histories end here (exclusive); default now. */
  asOf?: Date;
  /** Expected purchases are counted over this horizon after `asOf`. */
  horizon: Duration;
  /** Lifetime value over a horizon with a discount rate; needs a Gamma-Gamma fit. Omit to skip CLV. */
  clv?: LifetimeValueOptions;
  /** Which fits to use; the latest of each by default. */
  bgnbdFitId?: string;
  gammaGammaFitId?: string;
}

export interface ScoreSummary {
  asOf: Date;
  people: number;
  bgnbdFit: string;
  gammaGammaFit: string | null;
  purchasesHorizon: string;
  clvHorizon: string | null;
}

function bgnbdFromStored(fit: StoredFit): BgNbdModel {
  const p = fit.params as Record<string, number>;
  return { params: { r: p.r!, alpha: p.alpha!, a: p.a!, b: p.b! }, timeUnit: fit.timeUnit as TimeUnit };
}

/**
 * Score every person who has purchased before `asOf` and write one row each to `predictions` (person_id, as_of):
 * P(alive), expected purchases over the horizon, and with a Gamma-Gamma fit the expected order value and CLV. Rows
 * for the same `as_of` are replaced, so scoring is repeatable.
 *
 * Histories are computed in SQL with the purchase definition the BG/NBD fit used; the models are evaluated once per
 * distinct (x, t_x, T) in JavaScript, and joined back to people in SQL. Order values are a SQL expression of the
 * Gamma-Gamma parameters (bound values), so per-person money never leaves the engine.
 */
export async function scorePredictions(wh: Warehouse, options: ScoreOptions): Promise<ScoreSummary> {
  const asOf = options.asOf ?? new Date();
  const bgFit = await getModelFit(wh, { model: 'bgnbd', id: options.bgnbdFitId });
  let ggFit: StoredFit | null = null;
  try {
    ggFit = await getModelFit(wh, { model: 'gammagamma', id: options.gammaGammaFitId });
  } catch (e) {
    if (!(isSegflowError(e) && e.code === 'MODEL_NOT_FITTED') || options.clv) throw e;
  }
  const model = bgnbdFromStored(bgFit);
  const unit = model.timeUnit;
  const gg = ggFit ? (ggFit.params as unknown as GammaGammaParams) : null;
  if (gg && !(gg.q > 1)) {
    throw new SegflowError(
      'MODEL_FIT_FAILED',
      `the Gamma-Gamma fit ${ggFit!.id} has q = ${gg.q} ≤ 1: expected order values do not exist`,
      'refit Gamma-Gamma on cleaner revenue, or score without --clv-horizon',
    );
  }
  const o = bgFit.options as { purchaseEvents: string[]; sameDayAsOne: boolean };
  const { sql, params } = personSummarySql(wh.dialect, {
    purchases: { events: o.purchaseEvents, sameDayAsOne: o.sameDayAsOne },
    window: { end: asOf },
    timeUnit: unit,
  });
  const horizon = inUnit(options.horizon, unit);
  const clvHorizon = options.clv ? inUnit(options.clv.horizon, unit) : 0;
  const clvPeriod = options.clv ? inUnit({ value: 1, unit: options.clv.discount.per }, unit) : 1;
  const unitSeconds = secondsPerUnit(unit);

  return wh.transaction(async (tx) => {
    await tx.storage.createScratch({ name: 'score_people', select: sql, params });
    const rows: (number | null)[][] = [];
    for await (const batch of tx.stream<{ x: number; tx_s: number; t_s: number }>(
      'SELECT DISTINCT x, tx_s, t_s FROM score_people',
    )) {
      for (const g of batch) {
        const h = { x: Number(g.x), tx: g.tx_s / unitSeconds, T: g.t_s / unitSeconds };
        const discounted = options.clv
          ? discountedPurchases({
              expectedBy: (t) => bgnbdExpectedPurchases(model, h, { value: t, unit }),
              horizon: clvHorizon,
              periodLength: clvPeriod,
              rate: options.clv.discount.rate,
            })
          : null;
        rows.push([
          h.x,
          g.tx_s,
          g.t_s,
          bgnbdProbabilityAlive(model, h),
          bgnbdExpectedPurchases(model, h, { value: horizon, unit }),
          discounted,
        ]);
      }
    }
    await tx.storage.createScratch({
      name: 'score_groups',
      columns: [
        ['x', 'bigint'],
        ['tx_s', 'double'],
        ['t_s', 'double'],
        ['p_alive', 'double'],
        ['expected', 'double'],
        ['discounted', 'double'],
      ],
      rows,
    });
    // E[Z | x, m] = (1 − w)·pγ/(q−1) + w·m with w = px/(px+q−1); the population mean without repeat values.
    const orderValue = gg
      ? `CASE WHEN p.x > 0 AND p.m > 0
           THEN (1 - ($3 * p.x) / ($3 * p.x + $4 - 1)) * $5 + ($3 * p.x) / ($3 * p.x + $4 - 1) * p.m
           ELSE $5 END`
      : 'NULL';
    await tx.storage.replaceSnapshot({
      table: 'predictions',
      columns: [
        'person_id',
        'as_of',
        'bgnbd_fit',
        'gammagamma_fit',
        'p_alive',
        'expected_purchases',
        'purchases_horizon',
        'expected_order_value',
        'clv',
        'clv_horizon',
      ],
      at: { as_of: asOf },
      select: `SELECT p.person_id, $1 AS as_of, $2 AS bgnbd_fit, $6 AS gammagamma_fit, g.p_alive,
         g.expected AS expected_purchases, $7 AS purchases_horizon, ov AS expected_order_value,
         ov * g.discounted AS clv, $8 AS clv_horizon
       FROM (SELECT p.*, ${orderValue} AS ov FROM score_people p) p
       JOIN score_groups g ON g.x = p.x AND g.tx_s = p.tx_s AND g.t_s = p.t_s`,
      params: [
        asOf,
        bgFit.id,
        gg?.p ?? null,
        gg?.q ?? null,
        gg ? gammaGammaPopulationMean(gg) : null,
        ggFit?.id ?? null,
        formatDuration(options.horizon),
        options.clv ? formatDuration(options.clv.horizon) : null,
      ],
    });
    const [count] = await tx.query<{ n: number }>('SELECT count(*) AS n FROM score_people');
    await tx.storage.dropScratch('score_people');
    await tx.storage.dropScratch('score_groups');
    return {
      asOf,
      people: Number(count?.n ?? 0),
      bgnbdFit: bgFit.id,
      gammaGammaFit: ggFit?.id ?? null,
      purchasesHorizon: formatDuration(options.horizon),
      clvHorizon: options.clv ? formatDuration(options.clv.horizon) : null,
    };
  });
}
