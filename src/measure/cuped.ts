import { z } from 'zod';
import {
  ArmStatsSchema,
  type Moments,
  meanArmStats,
  requireConsistentCovariance,
  requireCount,
  sampleCovariance,
  sampleVariance,
} from './arm-stats.js';
import {
  DEFAULT_ALPHA,
  type Estimate,
  EstimateSchema,
  requireAlpha,
  tEstimate,
  welchDegreesOfFreedom,
} from './inference.js';
import { type LiftOptions, LiftResultSchema, liftFromArms } from './lift.js';

/**
 * CUPED (Deng, Xu, Kohavi & Walker, "Improving the Sensitivity of Online Controlled Experiments by Utilizing
 * Pre-Experiment Data", WSDM 2013): compare Y − θ·X instead of Y, where X is a covariate measured before the play
 * started (typically the same KPI over an equal pre-period). X cannot be moved by the treatment, so the comparison
 * stays unbiased, while its variance shrinks by the factor 1 − ρ² (ρ = corr(X, Y)).
 *
 * Everything comes from per-arm SQL aggregates (n, ΣY, ΣY², ΣX, ΣX², ΣXY). θ is estimated once from both arms
 * pooled, and the relative lift's variance is the delta-method expression of GrowthBook's engine (gbstats
 * `frequentist_variance_relative_cuped`), so its published vectors apply.
 */

export interface CovariateAggregate {
  /** People in the arm. */
  n: number;
  /** The KPI over the measurement window: ΣY and ΣY². */
  post: Moments;
  /** The covariate from before the play (e.g. the same KPI over the pre-period): ΣX and ΣX². */
  pre: Moments;
  /** ΣXY over the same people. */
  sumProducts: number;
}

export const CupedArmStatsSchema = ArmStatsSchema.extend({
  preMean: z.number().describe('mean of the pre-period covariate'),
  adjustedMean: z.number().describe('Ȳ − θ·X̄'),
  adjustedVariance: z.number().describe('per-person variance of Y − θX: s²_Y + θ²·s²_X − 2θ·s_XY'),
});
export type CupedArmStats = z.output<typeof CupedArmStatsSchema>;

export const CupedLiftResultSchema = LiftResultSchema.extend({
  kind: z.literal('cuped'),
  control: CupedArmStatsSchema,
  treatment: CupedArmStatsSchema,
  theta: z.number().describe('θ = Cov(X, Y) / Var(X), from both arms pooled; 0 when either has no variance'),
  correlation: z.number().describe('pooled correlation of the covariate with the KPI'),
  varianceReduction: z.number().describe('the share of variance CUPED removed'),
  unadjusted: z
    .object({ absolute: EstimateSchema, relative: EstimateSchema.nullable() })
    .describe('the same comparison without the covariate, for reference'),
}).meta({ id: 'CupedLiftResult' });
export type CupedLiftResult = z.output<typeof CupedLiftResultSchema>;

interface ArmMoments {
  n: number;
  postMean: number;
  preMean: number;
  varPost: number;
  varPre: number;
  cov: number;
}

function armMoments(agg: CovariateAggregate, what: string): ArmMoments {
  const n = requireCount(agg.n, `${what} n`);
  const varPost = sampleVariance(n, agg.post, `${what} (KPI)`);
  const varPre = sampleVariance(n, agg.pre, `${what} (pre-period covariate)`);
  const cov = sampleCovariance(n, agg.post.sum, agg.pre.sum, agg.sumProducts, what);
  requireConsistentCovariance(cov, varPost, varPre, what);
  return { n, postMean: agg.post.sum / n, preMean: agg.pre.sum / n, varPost, varPre, cov };
}

/** θ and ρ from the two arms' sums pooled (as if one sample), the usual CUPED estimate. */
function pooledTheta(a: CovariateAggregate, b: CovariateAggregate): { theta: number; correlation: number } {
  const n = a.n + b.n;
  const post = { sum: a.post.sum + b.post.sum, sumSquares: a.post.sumSquares + b.post.sumSquares };
  const pre = { sum: a.pre.sum + b.pre.sum, sumSquares: a.pre.sumSquares + b.pre.sumSquares };
  const varPost = sampleVariance(n, post, 'pooled KPI');
  const varPre = sampleVariance(n, pre, 'pooled covariate');
  if (varPost === 0 || varPre === 0) return { theta: 0, correlation: 0 };
  const cov = sampleCovariance(n, post.sum, pre.sum, a.sumProducts + b.sumProducts, 'pooled');
  return { theta: cov / varPre, correlation: cov / Math.sqrt(varPost * varPre) };
}

function adjustedArm(m: ArmMoments, theta: number): CupedArmStats {
  const adjustedVariance = Math.max(0, m.varPost + theta * theta * m.varPre - 2 * theta * m.cov);
  return {
    n: m.n,
    mean: m.postMean,
    variance: m.varPost,
    standardError: Math.sqrt(m.varPost / m.n),
    preMean: m.preMean,
    adjustedMean: m.postMean - theta * m.preMean,
    adjustedVariance,
  };
}

/** Lift of a per-person KPI with CUPED variance reduction from a pre-period covariate. */
export function cupedLift(
  args: { control: CovariateAggregate; treatment: CovariateAggregate } & LiftOptions,
): CupedLiftResult {
  const alpha = requireAlpha(args.alpha ?? DEFAULT_ALPHA);
  const a = armMoments(args.control, 'control');
  const b = armMoments(args.treatment, 'treatment');
  const unadjusted = liftFromArms({
    kind: 'mean',
    control: meanArmStats({ n: a.n, ...args.control.post }, 'control'),
    treatment: meanArmStats({ n: b.n, ...args.treatment.post }, 'treatment'),
    alpha,
  });
  const { theta, correlation } = pooledTheta(args.control, args.treatment);
  const control = adjustedArm(a, theta);
  const treatment = adjustedArm(b, theta);

  // Degrees of freedom from the adjusted per-person variances, as for any Welch comparison.
  const df = welchDegreesOfFreedom(
    { ...control, variance: control.adjustedVariance },
    { ...treatment, variance: treatment.adjustedVariance },
  );
  const absoluteVariance = treatment.adjustedVariance / b.n + control.adjustedVariance / a.n;
  const absolute = tEstimate({
    estimate: treatment.adjustedMean - control.adjustedMean,
    variance: absoluteVariance,
    df,
    alpha,
  });

  // Relative lift: (adjusted difference) / unadjusted control mean Ȳ_c. Delta method with gradient
  // (1/Ȳ_c)·(1, −θ) for the treatment's (Ȳ_t, X̄_t) and (−Ȳ_t/Ȳ_c², θ/Ȳ_c) for the control's (Ȳ_c, X̄_c),
  // where the exact control gradient's (Ȳ_t − θ(X̄_t − X̄_c)) is taken as Ȳ_t, randomisation making X̄_t ≈ X̄_c.
  const notes: string[] = [];
  let relative: Estimate | null = null;
  const yc = a.postMean;
  if (yc > 0) {
    const vTreatment = treatment.adjustedVariance / (b.n * yc * yc);
    const vControl =
      ((a.varPost * b.postMean ** 2) / yc ** 2 -
        (2 * theta * a.cov * b.postMean) / yc +
        theta ** 2 * a.varPre) /
      (a.n * yc * yc);
    relative = tEstimate({
      estimate: (treatment.adjustedMean - control.adjustedMean) / yc,
      variance: vTreatment + vControl,
      df,
      alpha,
    });
  } else {
    notes.push(
      `the control mean is ${yc}, so a relative lift (a percentage of it) is not defined; read the absolute lift`,
    );
  }
  if (theta === 0)
    notes.push(
      'the covariate (or the KPI) has no variance, so CUPED adjusts nothing: this is the plain comparison',
    );

  const unadjustedVariance = unadjusted.absolute.standardError ** 2;
  return {
    kind: 'cuped',
    confidenceLevel: 1 - alpha,
    control,
    treatment,
    degreesOfFreedom: df,
    absolute,
    relative,
    notes,
    theta,
    correlation,
    varianceReduction: unadjustedVariance > 0 ? 1 - absoluteVariance / unadjustedVariance : 0,
    unadjusted: { absolute: unadjusted.absolute, relative: unadjusted.relative },
  };
}
