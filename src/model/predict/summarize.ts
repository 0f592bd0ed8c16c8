import type { Dialect } from '../../engine/dialect.js';
import type { SqlValue, Warehouse } from '../../engine/warehouse.js';
import { SegflowError } from '../../errors.js';
import type { MonetarySummaries, RfmSummaries } from './summaries-types.js';
import { secondsPerUnit, type TimeUnit } from './time-unit.js';

/** What counts as a purchase. */
export interface PurchaseDefinition {
  /** Track event names, e.g. ['Order Completed']. */
  events: readonly string[];
  /**
   * Count all purchases on one UTC day as one purchase occasion (default true), as the literature does for CDNOW:
   * times are then whole days, and a purchase on the window's last day has t_x = T.
   */
  sameDayAsOne?: boolean;
}

/**
 * The calibration window: people whose first purchase is in [start, end) form the cohort; their purchases before
 * `end` are the history the models are fitted on. Purchases in [end, holdoutEnd) are the holdout, used only to check
 * forecasts. All instants are UTC; `end` and `holdoutEnd` are exclusive.
 */
export interface CalibrationWindow {
  /** Omit to take everyone who made a first purchase before `end`. */
  start?: Date;
  end: Date;
  holdoutEnd?: Date;
}

export interface SummarizeOptions {
  purchases: PurchaseDefinition;
  window: CalibrationWindow;
  /** The unit of t_x and T (and so of the fitted α). */
  timeUnit: TimeUnit;
  /**
   * Only one model's summaries (the other's arrays come back empty): `rfm` for BG/NBD, `monetary` for Gamma-Gamma.
   * Each alone still counts everyone, so `people` and the repeat-customer counts are the same either way; a command
   * that fits one model then reads about half as many rows.
   */
  only?: 'rfm' | 'monetary';
}

export interface PurchaseSummaries {
  /** Grouped (x, t_x, T) for BG/NBD. */
  rfm: RfmSummaries;
  /** Per rfm group: holdout purchase occasions summed over its people (all zero without a holdout). */
  holdoutPurchases: Float64Array;
  /** Length of the holdout in `timeUnit` (0 without one). */
  holdoutLength: number;
  /** Grouped (x, m) of repeat customers with a positive mean repeat order value, for Gamma-Gamma. */
  monetary: MonetarySummaries;
  people: number;
  repeatCustomers: number;
  /** Repeat customers left out of `monetary` because their repeat purchases carry no positive value. */
  repeatCustomersWithoutValue: number;
}

const DAY_MS = 86_400_000;

function problem(message: string, hint: string): SegflowError {
  return new SegflowError('USAGE', message, hint);
}

function checkOptions(o: SummarizeOptions): void {
  if (o.purchases.events.length === 0) {
    throw problem(
      'no purchase events given',
      "name the track events that are purchases, e.g. ['Order Completed']",
    );
  }
  const { start, end, holdoutEnd } = o.window;
  if (Number.isNaN(end.getTime())) throw problem('the calibration end is not a valid date', 'pass a Date');
  if (start && !(start < end)) {
    throw problem('the calibration window is empty', `start (${start.toISOString()}) must be before end`);
  }
  if (holdoutEnd && !(holdoutEnd > end)) {
    throw problem(
      'the holdout window is empty',
      `holdoutEnd (${holdoutEnd.toISOString()}) must be after end`,
    );
  }
}

/**
 * Per-person purchase summaries computed in SQL over `person_events` and returned grouped: the engine scans the
 * events once and JavaScript only receives one row per distinct history (and per distinct (x, m) for Gamma-Gamma).
 *
 * - A purchase occasion is a purchase event, or a UTC day with purchases when `sameDayAsOne`; its value is the sum of
 *   the events' `revenue`.
 * - x = occasions in the calibration window after the first; t_x = last − first; T = observation end − first, where
 *   the observation end is `end` (or, with whole days, the start of the window's last day — Hardie's and the
 *   `lifetimes` library's convention, which gives the published CDNOW figures).
 * - m = mean value of the repeat occasions (the first is excluded, as in Fader & Hardie's Gamma-Gamma note).
 */
/**
 * SQL for one row per person of the cohort: person_id, x, tx_s and t_s (t_x and T in seconds), m (mean repeat
 * occasion value, NULL without one) and holdout (occasions in the holdout). See summarizePurchases for the rules.
 */
export function personSummarySql(
  d: Dialect,
  options: SummarizeOptions,
): { sql: string; params: SqlValue[]; sameDay: boolean } {
  checkOptions(options);
  const { window } = options;
  const sameDay = options.purchases.sameDayAsOne ?? true;
  const observationEnd = sameDay
    ? new Date(Math.floor((window.end.getTime() - 1) / DAY_MS) * DAY_MS)
    : window.end;
  const limit = window.holdoutEnd ?? window.end;
  const params: SqlValue[] = [window.end, limit, observationEnd, window.start ?? null];
  const eventList = options.purchases.events
    .map((e) => {
      params.push(e);
      return `$${params.length}`;
    })
    .join(', ');
  // $1 end, $2 end of data read, $3 observation end, $4 cohort start (or NULL), $5… event names.
  const occasions = sameDay
    ? `SELECT person_id, ${d.dayStart('ts')} AS t, ts < $1 AS cal, sum(revenue) AS value
         FROM purchases GROUP BY person_id, ${d.dayStart('ts')}, ts < $1`
    : 'SELECT person_id, ts AS t, ts < $1 AS cal, revenue AS value FROM purchases';
  const sql = `
    WITH purchases AS (
      SELECT person_id, ts, revenue FROM person_events
      WHERE type = 'track' AND event IN (${eventList}) AND ts < $2),
    occasions AS (${occasions}),
    ranked AS (
      SELECT person_id, t, cal, value, row_number() OVER (PARTITION BY person_id ORDER BY t) = 1 AS is_first
      FROM occasions)
    SELECT person_id,
      ${d.aggregateIf('count(*)', 'cal')} - 1 AS x,
      ${d.epochSeconds(d.aggregateIf('max(t)', 'cal'))} - ${d.epochSeconds('min(t)')} AS tx_s,
      ${d.epochSeconds('$3')} - ${d.epochSeconds('min(t)')} AS t_s,
      ${d.aggregateIf('avg(value)', 'cal AND NOT is_first')} AS m,
      ${d.aggregateIf('count(*)', 'NOT cal')} AS holdout
    FROM ranked GROUP BY person_id
    HAVING ${d.boolOr('is_first AND cal')} AND ($4 IS NULL OR min(t) >= $4)`;
  return { sql, params, sameDay };
}

export async function summarizePurchases(
  wh: Warehouse,
  options: SummarizeOptions,
): Promise<PurchaseSummaries> {
  const { sql: perPerson, params, sameDay } = personSummarySql(wh.dialect, options);
  const { window, timeUnit } = options;
  // Each grouping set covers every person once: (x, t_x, T) for BG/NBD, (x, m) for Gamma-Gamma (m is NULL for
  // people without a positive mean repeat value, so they form a group of their own per x). GROUPING(m) tells the two
  // sets apart; with one set alone the columns it does not group by are NULL and the answer is a constant.
  // The groups are sorted by their keys: the fits sum over them in this order, and on a flat likelihood (a small
  // shop) the last bits of those sums steer where the optimizer stops, so every engine must hand them over alike.
  // Every column comes back as a DOUBLE (exact for these counts), read column by column: an object per group would
  // cost more than the query (23,570 people, 14,729 groups on the full CDNOW log).
  const keys = {
    both: [
      'x, tx_s, t_s, m',
      'GROUPING(m)',
      'GROUPING SETS ((x, tx_s, t_s), (x, m))',
      'rfm_row, x, tx_s, t_s, m',
    ],
    rfm: ['x, tx_s, t_s, CAST(NULL AS DOUBLE) AS m', '1', 'x, tx_s, t_s', 'x, tx_s, t_s'],
    monetary: ['x, CAST(NULL AS DOUBLE) AS tx_s, CAST(NULL AS DOUBLE) AS t_s, m', '0', 'x, m', 'x, m'],
  } as const;
  const [columns, rfmRow, groupBy, orderBy] = keys[options.only ?? 'both'];
  const sql = `
    SELECT ${columns}, CAST(count(*) AS DOUBLE) AS n, CAST(sum(holdout) AS DOUBLE) AS holdout,
      CAST(${rfmRow} AS DOUBLE) AS rfm_row,
      CAST(sum(CASE WHEN x > 0 AND m IS NULL THEN 1 ELSE 0 END) AS DOUBLE) AS without_value
    FROM (SELECT CAST(x AS DOUBLE) AS x, CAST(tx_s AS DOUBLE) AS tx_s, CAST(t_s AS DOUBLE) AS t_s,
            CAST(CASE WHEN x > 0 AND m > 0 THEN m END AS DOUBLE) AS m, CAST(holdout AS DOUBLE) AS holdout
          FROM (${perPerson}))
    GROUP BY ${groupBy}
    ORDER BY ${orderBy}`;
  const countFrom = options.only ?? 'rfm';

  const unitSeconds = secondsPerUnit(timeUnit);
  const { rows, columns: c } = await wh.queryColumns(sql, params);
  const [X, TX, TS, M, N, H, RFM, WV] = [
    'x',
    'tx_s',
    't_s',
    'm',
    'n',
    'holdout',
    'rfm_row',
    'without_value',
  ].map((name) => c[name]!);
  // One pass over the rows (it runs cold, in the interpreter): each set's values go to arrays as long as the result,
  // cut to the set's length at the end.
  const rfm = {
    x: new Float64Array(rows),
    tx: new Float64Array(rows),
    T: new Float64Array(rows),
    weight: new Float64Array(rows),
  };
  const holdoutPurchases = new Float64Array(rows);
  const monetary = {
    x: new Float64Array(rows),
    m: new Float64Array(rows),
    weight: new Float64Array(rows),
  };
  let people = 0;
  let repeatCustomers = 0;
  let withoutValue = 0;
  let r = 0;
  let k = 0;
  for (let i = 0; i < rows; i++) {
    const x = X![i]!;
    const n = N![i]!;
    const isRfm = RFM![i] === 1;
    if ((countFrom === 'rfm') === isRfm) {
      people += n;
      if (x > 0) repeatCustomers += n;
      withoutValue += WV![i]!;
    }
    if (isRfm) {
      rfm.x[r] = x;
      // With whole days the differences are exact multiples of 86,400 s; rounding removes float noise only.
      rfm.tx[r] = (sameDay ? Math.round(TX![i]!) : TX![i]!) / unitSeconds;
      rfm.T[r] = (sameDay ? Math.round(TS![i]!) : TS![i]!) / unitSeconds;
      rfm.weight[r] = n;
      holdoutPurchases[r] = H![i]!;
      r++;
    } else if (!Number.isNaN(M![i]!)) {
      // m is NULL (NaN here) for people without a positive mean repeat value: left out, counted in without_value.
      monetary.x[k] = x;
      monetary.m[k] = M![i]!;
      monetary.weight[k] = n;
      k++;
    }
  }
  return {
    rfm: {
      timeUnit,
      x: rfm.x.slice(0, r),
      tx: rfm.tx.slice(0, r),
      T: rfm.T.slice(0, r),
      weight: rfm.weight.slice(0, r),
    },
    holdoutPurchases: holdoutPurchases.slice(0, r),
    holdoutLength: window.holdoutEnd
      ? (window.holdoutEnd.getTime() - window.end.getTime()) / 1000 / unitSeconds
      : 0,
    monetary: { x: monetary.x.slice(0, k), m: monetary.m.slice(0, k), weight: monetary.weight.slice(0, k) },
    people,
    repeatCustomers,
    repeatCustomersWithoutValue: withoutValue,
  };
}
