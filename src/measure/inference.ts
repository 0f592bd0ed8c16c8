import { z } from 'zod';
import { SegflowError } from '../errors.js';
import type { ArmStats } from './arm-stats.js';
import { studentTCdf, studentTQuantile } from './distributions.js';

/**
 * From an estimate, its variance and Welch's degrees of freedom to a two-sided confidence interval and p-value,
 * with Student's t (the conventions of GrowthBook's frequentist engine, gbstats).
 */

export const IntervalSchema = z.object({ lower: z.number(), upper: z.number() });
export type Interval = z.output<typeof IntervalSchema>;

export const EstimateSchema = z
  .object({
    estimate: z.number().describe('a difference in means, or a relative change such as 0.12 = +12 %'),
    standardError: z.number(),
    ci: IntervalSchema.describe("two-sided confidence interval at the result's confidence level"),
    pValue: z.number().describe('two-sided p-value of "no difference"'),
    significant: z.boolean().describe('pValue < alpha: the interval excludes 0'),
  })
  .meta({ id: 'Estimate' });
export type Estimate = z.output<typeof EstimateSchema>;

export const DEFAULT_ALPHA = 0.05;

export function requireAlpha(alpha: number): number {
  if (!(alpha > 0 && alpha < 1))
    throw new SegflowError(
      'STATS_INPUT_INVALID',
      `alpha must be between 0 and 1 (got ${String(alpha)})`,
      'alpha = 0.05 gives 95 % confidence intervals',
    );
  return alpha;
}

/**
 * Welch–Satterthwaite degrees of freedom for comparing two arms with unequal variances:
 * (s²_a/n_a + s²_b/n_b)² / ((s²_a/n_a)²/(n_a − 1) + (s²_b/n_b)²/(n_b − 1)).
 */
export function welchDegreesOfFreedom(a: ArmStats, b: ArmStats): number {
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  const denominator = (va * va) / (a.n - 1) + (vb * vb) / (b.n - 1);
  if (!(denominator > 0))
    throw new SegflowError(
      'STATS_INPUT_INVALID',
      'both arms have zero variance (every person has the same value), so there is nothing to test',
      'check that the metric varies between people; a conversion rate of 0 % or 100 % in both arms cannot be compared',
    );
  return (va + vb) ** 2 / denominator;
}

/** Interval and p-value for an estimate whose sampling distribution is t with `df` degrees of freedom. */
export function tEstimate(args: { estimate: number; variance: number; df: number; alpha: number }): Estimate {
  const standardError = Math.sqrt(Math.max(0, args.variance));
  const halfWidth = studentTQuantile(1 - args.alpha / 2, args.df) * standardError;
  const t = standardError > 0 ? Math.abs(args.estimate) / standardError : Number.POSITIVE_INFINITY;
  // 2·P(T > |t|), from the lower tail so tiny p-values keep their digits.
  const pValue = standardError > 0 ? Math.min(1, 2 * studentTCdf(-t, args.df)) : args.estimate === 0 ? 1 : 0;
  return {
    estimate: args.estimate,
    standardError,
    ci: { lower: args.estimate - halfWidth, upper: args.estimate + halfWidth },
    pValue,
    significant: pValue < args.alpha,
  };
}
