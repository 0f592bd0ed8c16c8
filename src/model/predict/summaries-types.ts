import { SegflowError } from '../../errors.js';
import type { TimeUnit } from './time-unit.js';

/**
 * Per-person purchase histories reduced to what the customer-base models need, grouped: people with the same
 * (x, t_x, T) are one row with a weight, which is how Fader & Hardie lay the data out and why fitting cost grows with
 * the number of distinct histories, not of people.
 *
 * - x: repeat purchases (purchase occasions after the first) in the calibration window,
 * - tx: time of the last purchase, measured from the first (0 when x = 0),
 * - T: time from the first purchase to the end of the calibration window,
 * all in `timeUnit`.
 */
export interface RfmSummaries {
  timeUnit: TimeUnit;
  x: Float64Array;
  tx: Float64Array;
  T: Float64Array;
  /** How many people have this history. */
  weight: Float64Array;
}

/**
 * Repeat customers' monetary summaries for Gamma-Gamma, grouped likewise: x repeat purchases with mean value m per
 * repeat purchase (the first purchase is excluded, as in Fader & Hardie's note).
 */
export interface MonetarySummaries {
  x: Float64Array;
  /** Mean value of the repeat purchases (> 0). */
  m: Float64Array;
  weight: Float64Array;
}

/** One person's history in a model's time unit. */
export interface PurchaseHistory {
  x: number;
  tx: number;
  T: number;
}

function invalid(message: string, hint: string): SegflowError {
  return new SegflowError('MODEL_DATA_INVALID', message, hint);
}

/** Refuse histories the model cannot describe, naming the first bad row. */
export function checkRfm(data: RfmSummaries): void {
  const n = data.x.length;
  if (data.tx.length !== n || data.T.length !== n || data.weight.length !== n) {
    throw invalid('x, tx, T and weight have different lengths', 'pass one value of each per group');
  }
  if (n === 0) {
    throw new SegflowError(
      'MODEL_NO_DATA',
      'there are no purchase histories to fit',
      'check the purchase event names and the calibration window: nobody made a first purchase in it',
    );
  }
  for (let i = 0; i < n; i++) {
    const x = data.x[i]!;
    const tx = data.tx[i]!;
    const T = data.T[i]!;
    const w = data.weight[i]!;
    const ok =
      Number.isInteger(x) &&
      x >= 0 &&
      tx >= 0 &&
      tx <= T &&
      (x > 0 || tx === 0) &&
      w > 0 &&
      Number.isFinite(w);
    if (ok) continue;
    const row = `row ${i} (x=${x}, tx=${tx}, T=${T}, weight=${w})`;
    if (!Number.isInteger(x) || x < 0)
      throw invalid(`${row}: x must be a whole number ≥ 0`, 'x counts repeat purchases');
    if (!(tx >= 0 && tx <= T))
      throw invalid(`${row}: need 0 ≤ tx ≤ T`, 'tx and T are measured from the first purchase');
    if (x === 0 && tx !== 0)
      throw invalid(`${row}: tx must be 0 when x = 0`, 'a person without repeat purchases has no tx');
    throw invalid(`${row}: weight must be > 0`, 'weight counts people');
  }
}

export function checkMonetary(data: MonetarySummaries): void {
  const n = data.x.length;
  if (data.m.length !== n || data.weight.length !== n) {
    throw invalid('x, m and weight have different lengths', 'pass one value of each per group');
  }
  if (n === 0) {
    throw new SegflowError(
      'MODEL_NO_DATA',
      'there are no repeat customers with a positive order value to fit Gamma-Gamma on',
      'check that purchases carry revenue (properties.revenue) and that some people bought more than once',
    );
  }
  for (let i = 0; i < n; i++) {
    const x = data.x[i]!;
    const m = data.m[i]!;
    const w = data.weight[i]!;
    if (Number.isInteger(x) && x >= 1 && m > 0 && m !== Number.POSITIVE_INFINITY && w > 0) continue;
    // Only for a bad row: formatting three numbers for each of thousands of good rows cost milliseconds per fit.
    const row = `row ${i} (x=${x}, m=${m}, weight=${w})`;
    if (!Number.isInteger(x) || x < 1) {
      throw invalid(`${row}: x must be a whole number ≥ 1`, 'Gamma-Gamma is fitted on repeat customers only');
    }
    if (!(m > 0) || !Number.isFinite(m)) {
      throw invalid(
        `${row}: m must be > 0`,
        'leave out people whose repeat purchases have no positive value',
      );
    }
    throw invalid(`${row}: weight must be > 0`, 'weight counts people');
  }
}
