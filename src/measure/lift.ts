import { z } from 'zod';
import {
  type ArmStats,
  ArmStatsSchema,
  type MeanAggregate,
  meanArmStats,
  type ProportionAggregate,
  proportionArmStats,
  type RatioAggregate,
  ratioArmStats,
} from './arm-stats.js';
import {
  DEFAULT_ALPHA,
  type Estimate,
  EstimateSchema,
  requireAlpha,
  tEstimate,
  welchDegreesOfFreedom,
} from './inference.js';

/**
 * Lift of a treatment arm over its control (the holdout): absolute and relative, each with a Welch confidence
 * interval and p-value. Relative lift uses the delta method. These are GrowthBook's frequentist engine's formulas
 * (gbstats, two-sided t-test), so its published test vectors apply (test/measure/lift.test.ts).
 */

export const LIFT_KINDS = ['mean', 'proportion', 'ratio', 'cuped'] as const;
export type LiftKind = (typeof LIFT_KINDS)[number];

export const LiftResultSchema = z
  .object({
    kind: z.enum(LIFT_KINDS),
    confidenceLevel: z.number().describe('1 − alpha, e.g. 0.95'),
    control: ArmStatsSchema,
    treatment: ArmStatsSchema,
    degreesOfFreedom: z.number().describe('Welch–Satterthwaite degrees of freedom, shared by both estimates'),
    absolute: EstimateSchema.describe("treatment mean − control mean, in the metric's unit"),
    relative: EstimateSchema.nullable().describe(
      '(treatment − control) / control, e.g. 0.12 = +12 %; null when the control mean is not positive',
    ),
    notes: z.array(z.string()).describe('plain-language remarks, e.g. why the relative lift is missing'),
  })
  .meta({ id: 'LiftResult' });
export type LiftResult = z.output<typeof LiftResultSchema>;

export interface LiftOptions {
  /** Significance level; 0.05 gives 95 % intervals. */
  alpha?: number;
}

/**
 * The comparison itself, given each arm's n, mean and per-person variance:
 * - absolute: Δ = x̄_t − x̄_c, Var = s²_t/n_t + s²_c/n_c;
 * - relative: r = Δ / x̄_c, Var (delta method, arms independent) = s²_t/(n_t·x̄_c²) + s²_c·x̄_t²/(n_c·x̄_c⁴).
 */
export function liftFromArms(args: {
  kind: LiftKind;
  control: ArmStats;
  treatment: ArmStats;
  alpha?: number;
}): LiftResult {
  const alpha = requireAlpha(args.alpha ?? DEFAULT_ALPHA);
  const { control: c, treatment: t } = args;
  const df = welchDegreesOfFreedom(c, t);
  const absolute = tEstimate({
    estimate: t.mean - c.mean,
    variance: t.variance / t.n + c.variance / c.n,
    df,
    alpha,
  });
  const notes: string[] = [];
  let relative: Estimate | null = null;
  if (c.mean > 0) {
    relative = tEstimate({
      estimate: (t.mean - c.mean) / c.mean,
      variance: t.variance / (t.n * c.mean ** 2) + (c.variance * t.mean ** 2) / (c.n * c.mean ** 4),
      df,
      alpha,
    });
  } else {
    notes.push(
      `the control mean is ${c.mean}, so a relative lift (a percentage of it) is not defined; read the absolute lift`,
    );
  }
  return {
    kind: args.kind,
    confidenceLevel: 1 - alpha,
    control: c,
    treatment: t,
    degreesOfFreedom: df,
    absolute,
    relative,
    notes,
  };
}

/** Lift of a per-person metric (revenue per person, sessions, …) from each arm's n, Σx and Σx². */
export function meanLift(
  args: { control: MeanAggregate; treatment: MeanAggregate } & LiftOptions,
): LiftResult {
  return liftFromArms({
    kind: 'mean',
    control: meanArmStats(args.control, 'control'),
    treatment: meanArmStats(args.treatment, 'treatment'),
    alpha: args.alpha,
  });
}

/** Lift of a conversion rate from each arm's people and conversions. */
export function proportionLift(
  args: { control: ProportionAggregate; treatment: ProportionAggregate } & LiftOptions,
): LiftResult {
  return liftFromArms({
    kind: 'proportion',
    control: proportionArmStats(args.control, 'control'),
    treatment: proportionArmStats(args.treatment, 'treatment'),
    alpha: args.alpha,
  });
}

/** Lift of a ratio of sums (revenue per order, items per basket, …) randomised by person: delta method per arm. */
export function ratioLift(
  args: { control: RatioAggregate; treatment: RatioAggregate } & LiftOptions,
): LiftResult {
  return liftFromArms({
    kind: 'ratio',
    control: ratioArmStats(args.control, 'control'),
    treatment: ratioArmStats(args.treatment, 'treatment'),
    alpha: args.alpha,
  });
}
