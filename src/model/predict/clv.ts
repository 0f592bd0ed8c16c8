import { SegflowError } from '../../errors.js';
import { type BgNbdModel, bgnbdExpectedPurchases } from './bgnbd.js';
import { type GammaGammaParams, gammaGammaExpectedOrderValue } from './gamma-gamma.js';
import type { PurchaseHistory } from './summaries-types.js';
import { type Duration, inUnit, type TimeUnit } from './time-unit.js';

/**
 * How future purchases are discounted: `rate` per `per` (e.g. 0.01 per month ≈ 12.7% a year). Cash flows are
 * grouped into consecutive periods of one `per` unit; period i's expected purchases are divided by (1 + rate)^i.
 */
export interface DiscountRate {
  rate: number;
  per: TimeUnit;
}

/**
 * Σᵢ [E(cumulative purchases at the end of period i) − E(at its start)] / (1 + rate)^i over the periods that cover
 * `horizon` (the last one cut at the horizon): the discounted expected number of transactions, the same construction
 * as the `lifetimes` library's customer_lifetime_value. Times are in the unit `expectedBy` takes.
 */
export function discountedPurchases(args: {
  /** Expected cumulative purchases from now up to a time (in the model's unit). */
  expectedBy: (t: number) => number;
  horizon: number;
  periodLength: number;
  rate: number;
}): number {
  const { expectedBy, horizon, periodLength, rate } = args;
  if (!(horizon >= 0) || !(periodLength > 0) || !(rate > -1)) {
    throw new SegflowError(
      'USAGE',
      `invalid lifetime value horizon ${horizon}, period ${periodLength} or rate ${rate}`,
      'the horizon must be ≥ 0, the discount period > 0 and the rate > −1',
    );
  }
  const periods = Math.ceil(horizon / periodLength - 1e-9);
  let total = 0;
  let before = 0;
  for (let i = 1; i <= periods; i++) {
    const at = expectedBy(Math.min(i * periodLength, horizon));
    total += (at - before) / (1 + rate) ** i;
    before = at;
  }
  return total;
}

export interface LifetimeValueOptions {
  /** How far ahead to count purchases, e.g. { value: 12, unit: 'months' }. */
  horizon: Duration;
  discount: DiscountRate;
}

/**
 * A person's customer lifetime value over a horizon: expected order value (Gamma-Gamma, given their x repeat
 * purchases with mean value m) × discounted expected purchases (BG/NBD, given their history). m is ignored when x = 0.
 */
export function customerLifetimeValue(args: {
  bgnbd: BgNbdModel;
  gammaGamma: GammaGammaParams;
  history: PurchaseHistory & { m: number };
  options: LifetimeValueOptions;
}): number {
  const { bgnbd, gammaGamma, history, options } = args;
  const unit = bgnbd.timeUnit;
  const purchases = discountedPurchases({
    expectedBy: (t) => bgnbdExpectedPurchases(bgnbd, history, { value: t, unit }),
    horizon: inUnit(options.horizon, unit),
    periodLength: inUnit({ value: 1, unit: options.discount.per }, unit),
    rate: options.discount.rate,
  });
  return purchases * gammaGammaExpectedOrderValue(gammaGamma, history.x, history.m);
}
