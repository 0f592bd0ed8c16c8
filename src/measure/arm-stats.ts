import { z } from 'zod';
import { SegflowError } from '../errors.js';

/**
 * Per-arm moments from the aggregates SQL produces (COUNT, SUM, SUM of squares, SUM of cross-products), so no
 * statistic ever needs the per-person rows. Every input is checked here, once, with an error that says how to fix it.
 */

/** One arm of a metric averaged over people: n = COUNT(*), sum = SUM(x), sumSquares = SUM(x * x). */
export interface MeanAggregate {
  n: number;
  sum: number;
  sumSquares: number;
}

/** One arm of a conversion metric: n people, of whom `conversions` converted. */
export interface ProportionAggregate {
  n: number;
  conversions: number;
}

/** Sum and sum of squares of one per-person quantity. */
export interface Moments {
  sum: number;
  sumSquares: number;
}

/**
 * One arm of a ratio metric (e.g. revenue per order = SUM(revenue) / SUM(orders)) whose unit of randomisation is the
 * person: per-person numerator m and denominator d, and sumProducts = SUM(m * d).
 */
export interface RatioAggregate {
  n: number;
  numerator: Moments;
  denominator: Moments;
  sumProducts: number;
}

/** What the tests need of an arm: size, mean and the per-person variance of the quantity compared. */
export const ArmStatsSchema = z.object({
  n: z.number(),
  mean: z.number(),
  variance: z
    .number()
    .describe('per-person variance (n − 1 denominator; p(1 − p) for proportions; delta method for ratios)'),
  standardError: z.number().describe('standard error of the mean: √(variance / n)'),
});
export type ArmStats = z.output<typeof ArmStatsSchema>;

function invalid(message: string, hint: string): SegflowError {
  return new SegflowError('STATS_INPUT_INVALID', message, hint);
}

export function requireFinite(value: number, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw invalid(
      `${what} must be a finite number (got ${String(value)})`,
      `pass a plain number for ${what}`,
    );
  return value;
}

/** A count of people; at least `min` (2 by default, as a variance needs two). */
export function requireCount(n: number, what: string, min = 2): number {
  if (!Number.isInteger(n) || n < min)
    throw invalid(
      `${what} must be a whole number of at least ${min} (got ${String(n)})`,
      min >= 2
        ? 'each arm needs at least two people before a variance, and so an interval, exists'
        : `pass a whole number ≥ ${min}`,
    );
  return n;
}

/**
 * Sample variance (n − 1 denominator) from n, Σx and Σx². A sum of squares is never below (Σx)²/n; a value that is
 * below it by more than rounding means the inputs do not belong together.
 */
export function sampleVariance(n: number, m: Moments, what: string): number {
  requireFinite(m.sum, `${what} sum`);
  requireFinite(m.sumSquares, `${what} sum of squares`);
  const centred = m.sumSquares - (m.sum * m.sum) / n;
  if (centred < 0) {
    // Rounding in SUM(x*x) can leave a tiny negative number when every value is the same.
    if (-centred <= 1e-9 * Math.max(Math.abs(m.sumSquares), Number.MIN_VALUE)) return 0;
    throw invalid(
      `${what}: the sum of squares ${m.sumSquares} is smaller than sum²/n = ${(m.sum * m.sum) / n}, ` +
        'which would make the variance negative',
      'pass Σx² (the sum of each value squared, e.g. SUM(x * x) in SQL), not (Σx)² or the variance; ' +
        'check that n, sum and sum of squares come from the same rows',
    );
  }
  return centred / (n - 1);
}

/** Sample covariance of x and y from n, Σx, Σy and Σxy. */
export function sampleCovariance(
  n: number,
  sumX: number,
  sumY: number,
  sumProducts: number,
  what: string,
): number {
  requireFinite(sumProducts, `${what} sum of products`);
  return (sumProducts - (sumX * sumY) / n) / (n - 1);
}

/**
 * A covariance can be no larger than the geometric mean of the two variances (Cauchy–Schwarz). Past rounding,
 * a larger one means the cross-product sum does not belong with the sums of squares.
 */
export function requireConsistentCovariance(cov: number, varX: number, varY: number, what: string): void {
  const bound = Math.sqrt(varX * varY);
  if (Math.abs(cov) > bound * (1 + 1e-9) + 1e-12)
    throw invalid(
      `${what}: the sum of products implies a correlation of ${(cov / bound).toFixed(3)}, outside [−1, 1]`,
      'pass Σ(x·y) over the same people as the other sums (e.g. SUM(post * pre) in SQL)',
    );
}

function arm(n: number, mean: number, variance: number): ArmStats {
  return { n, mean, variance, standardError: Math.sqrt(variance / n) };
}

export function meanArmStats(agg: MeanAggregate, what: string): ArmStats {
  const n = requireCount(agg.n, `${what} n`);
  const variance = sampleVariance(n, agg, what);
  return arm(n, agg.sum / n, variance);
}

/** A conversion rate; its per-person variance is p(1 − p), the Bernoulli variance (as GrowthBook's engine uses). */
export function proportionArmStats(agg: ProportionAggregate, what: string): ArmStats {
  const n = requireCount(agg.n, `${what} n`);
  const c = agg.conversions;
  if (!Number.isInteger(c) || c < 0 || c > n)
    throw invalid(
      `${what} conversions must be a whole number between 0 and n = ${n} (got ${String(c)})`,
      'count each person at most once: conversions is the number of people who converted',
    );
  const p = c / n;
  return arm(n, p, p * (1 - p));
}

/**
 * A ratio of sums, mean = Σm / Σd. Its per-person variance comes from the delta method:
 * Var(m̄/d̄)·n ≈ σ²_m/μ_d² + σ²_d·μ_m²/μ_d⁴ − 2·σ_md·μ_m/μ_d³.
 */
export function ratioArmStats(agg: RatioAggregate, what: string): ArmStats {
  const n = requireCount(agg.n, `${what} n`);
  const varM = sampleVariance(n, agg.numerator, `${what} numerator`);
  const varD = sampleVariance(n, agg.denominator, `${what} denominator`);
  const cov = sampleCovariance(n, agg.numerator.sum, agg.denominator.sum, agg.sumProducts, what);
  requireConsistentCovariance(cov, varM, varD, what);
  const meanM = agg.numerator.sum / n;
  const meanD = agg.denominator.sum / n;
  if (meanD === 0)
    throw invalid(
      `${what}: the denominator sums to 0, so the ratio is undefined`,
      'a ratio metric needs a denominator that is positive for some people in every arm',
    );
  const variance = Math.max(
    0,
    varM / meanD ** 2 + (varD * meanM ** 2) / meanD ** 4 - (2 * cov * meanM) / meanD ** 3,
  );
  return arm(n, meanM / meanD, variance);
}
