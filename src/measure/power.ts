import { z } from 'zod';
import { SegflowError } from '../errors.js';
import { normalCdf, normalQuantile } from './distributions.js';
import { DEFAULT_ALPHA, requireAlpha } from './inference.js';

/**
 * Sizing a holdout before a play starts: the minimum detectable effect (MDE) for a given number of people, the
 * number of people needed for a given effect, and the power a design has. Two-sided test at level α, normal
 * approximation (the analysis uses Welch's t, which is the same at the sample sizes a holdout needs).
 *
 * With n_h = h·N people held out and n_t = (1 − h)·N treated, an effect δ is detected with probability
 * Φ(|δ|/SE(δ) − z₁₋α/₂) + Φ(−|δ|/SE(δ) − z₁₋α/₂), where
 * - mean KPIs:       SE = σ·√(1/n_h + 1/n_t) (the same σ in both arms);
 * - conversion KPIs: SE = √(p(1 − p)/n_h + (p + δ)(1 − p − δ)/n_t) (unpooled, as the analysis).
 * Setting the power to 1 − β gives δ = (z₁₋α/₂ + z₁₋β)·SE(δ), solved for N (closed form) or for δ (closed form for
 * means, bisection for conversions, since SE depends on δ).
 */

export type PowerMetric =
  | { kind: 'proportion' /** control conversion rate, 0 < p < 1 */; baselineRate: number }
  | { kind: 'mean'; baselineMean: number /** per-person standard deviation */; standardDeviation: number };

/** An effect as a change of the KPI's mean: relative (0.1 = +10 %) or absolute (in the KPI's unit). */
export type Effect = { relative: number } | { absolute: number };

export interface PowerDesign {
  metric: PowerMetric;
  /** Share of eligible people held out, 0 < h < 1. */
  holdoutShare: number;
  /** Significance level (two-sided); 0.05 by default. */
  alpha?: number;
}

export const DEFAULT_POWER = 0.8;

export const MdeResultSchema = z
  .object({
    people: z.number(),
    holdoutPeople: z.number(),
    treatmentPeople: z.number(),
    alpha: z.number(),
    power: z.number(),
    baseline: z.number(),
    absolute: z.number().describe("smallest increase detectable with the given power, in the KPI's unit"),
    relative: z
      .number()
      .nullable()
      .describe('the same as a share of the baseline; null when the baseline is 0'),
  })
  .meta({ id: 'MdeResult' });
export type MdeResult = z.output<typeof MdeResultSchema>;

export interface SampleSizeResult {
  /** People needed in total (holdout + treatment). */
  people: number;
  holdoutPeople: number;
  treatmentPeople: number;
  alpha: number;
  power: number;
  baseline: number;
  absoluteEffect: number;
  /** null when the baseline is 0. */
  relativeEffect: number | null;
}

function invalid(message: string, hint: string): SegflowError {
  return new SegflowError('STATS_INPUT_INVALID', message, hint);
}

function checkDesign(design: PowerDesign): { alpha: number; h: number; baseline: number } {
  const alpha = requireAlpha(design.alpha ?? DEFAULT_ALPHA);
  const h = design.holdoutShare;
  if (!(h > 0 && h < 1))
    throw invalid(
      `the holdout share must be between 0 and 1, exclusive (got ${String(h)})`,
      'e.g. 0.1 holds out 10 % of eligible people',
    );
  const m = design.metric;
  switch (m.kind) {
    case 'proportion':
      if (!(m.baselineRate > 0 && m.baselineRate < 1))
        throw invalid(
          `the baseline conversion rate must be between 0 and 1, exclusive (got ${String(m.baselineRate)})`,
          'pass the rate as a fraction: 0.04 for 4 %',
        );
      return { alpha, h, baseline: m.baselineRate };
    case 'mean':
      if (!Number.isFinite(m.baselineMean))
        throw invalid(`the baseline mean must be a number (got ${String(m.baselineMean)})`, 'e.g. 12.5');
      if (!(m.standardDeviation > 0 && Number.isFinite(m.standardDeviation)))
        throw invalid(
          `the standard deviation must be positive (got ${String(m.standardDeviation)})`,
          'take it from past data: the per-person standard deviation of the KPI over a comparable window',
        );
      return { alpha, h, baseline: m.baselineMean };
    default: {
      const never: never = m;
      throw invalid(`unknown metric kind in ${JSON.stringify(never)}`, "use 'proportion' or 'mean'");
    }
  }
}

function checkPower(power: number): number {
  if (!(power > 0 && power < 1))
    throw invalid(`power must be between 0 and 1 (got ${String(power)})`, 'the usual power is 0.8');
  return power;
}

function checkPeople(people: number): number {
  if (!Number.isInteger(people) || people < 4)
    throw invalid(`people must be a whole number of at least 4 (got ${String(people)})`, 'e.g. 20000');
  return people;
}

/** Standard error of the difference for an absolute effect δ with n_h and n_t people. */
function standardError(metric: PowerMetric, delta: number, nh: number, nt: number): number {
  switch (metric.kind) {
    case 'mean':
      return metric.standardDeviation * Math.sqrt(1 / nh + 1 / nt);
    case 'proportion': {
      const p = metric.baselineRate;
      const q = p + delta;
      return Math.sqrt((p * (1 - p)) / nh + (q * (1 - q)) / nt);
    }
    default: {
      const never: never = metric;
      throw new Error(`unknown metric ${JSON.stringify(never)}`);
    }
  }
}

function absoluteEffect(design: PowerDesign, baseline: number, effect: Effect): number {
  const delta = 'relative' in effect ? effect.relative * baseline : effect.absolute;
  if (!(Number.isFinite(delta) && delta !== 0))
    throw invalid(
      'the effect to detect must be a non-zero number',
      'e.g. a relative lift of 0.1 (+10 %) or an absolute one in the KPI unit',
    );
  if ('relative' in effect && baseline === 0)
    throw invalid('a relative effect needs a non-zero baseline', 'give the effect in absolute terms instead');
  if (design.metric.kind === 'proportion' && !(baseline + delta > 0 && baseline + delta < 1))
    throw invalid(
      `a baseline rate of ${baseline} moved by ${delta} leaves the range 0…1`,
      'choose a smaller effect: the treated conversion rate must stay between 0 and 1',
    );
  return delta;
}

/** Probability of a significant result (two-sided) when the true effect is `effect`. */
export function achievedPower(design: PowerDesign & { people: number; effect: Effect }): number {
  const { alpha, h, baseline } = checkDesign(design);
  const people = checkPeople(design.people);
  const delta = absoluteEffect(design, baseline, design.effect);
  const se = standardError(design.metric, delta, h * people, (1 - h) * people);
  const z = normalQuantile(1 - alpha / 2);
  const shift = Math.abs(delta) / se;
  return normalCdf(shift - z) + normalCdf(-shift - z);
}

/** The smallest increase of the KPI that `people` eligible people detect with the given power. */
export function minimumDetectableEffect(design: PowerDesign & { people: number; power?: number }): MdeResult {
  const { alpha, h, baseline } = checkDesign(design);
  const people = checkPeople(design.people);
  const power = checkPower(design.power ?? DEFAULT_POWER);
  const k = normalQuantile(1 - alpha / 2) + normalQuantile(power);
  const nh = h * people;
  const nt = (1 - h) * people;
  let absolute: number;
  const metric = design.metric;
  if (metric.kind === 'mean') {
    absolute = k * standardError(metric, 0, nh, nt);
  } else {
    // δ − k·SE(δ) is negative at δ = 0 and grows with δ; find its root in (0, 1 − p) by bisection.
    const gap = (d: number) => d - k * standardError(metric, d, nh, nt);
    let lo = 0;
    let hi = 1 - baseline;
    if (gap(hi) < 0)
      throw invalid(
        `${people} people cannot detect any increase of a ${baseline} conversion rate with ${power} power`,
        'add people, or lower the power or raise alpha',
      );
    for (let i = 0; i < 200 && hi - lo > 1e-15; i++) {
      const mid = 0.5 * (lo + hi);
      if (gap(mid) < 0) lo = mid;
      else hi = mid;
    }
    absolute = hi;
  }
  return {
    people,
    holdoutPeople: nh,
    treatmentPeople: nt,
    alpha,
    power,
    baseline,
    absolute,
    relative: baseline !== 0 ? absolute / baseline : null,
  };
}

/** People needed (in total, holdout included) to detect `effect` with the given power. */
export function requiredPeople(design: PowerDesign & { effect: Effect; power?: number }): SampleSizeResult {
  const { alpha, h, baseline } = checkDesign(design);
  const power = checkPower(design.power ?? DEFAULT_POWER);
  const delta = absoluteEffect(design, baseline, design.effect);
  const k = normalQuantile(1 - alpha / 2) + normalQuantile(power);
  // SE with N = 1 (n_h = h, n_t = 1 − h); SE scales as 1/√N, so N = (k·SE₁/δ)².
  const exact = ((k * standardError(design.metric, delta, h, 1 - h)) / delta) ** 2;
  const holdoutPeople = Math.ceil(h * exact);
  const treatmentPeople = Math.ceil((1 - h) * exact);
  return {
    people: holdoutPeople + treatmentPeople,
    holdoutPeople,
    treatmentPeople,
    alpha,
    power,
    baseline,
    absoluteEffect: delta,
    relativeEffect: baseline !== 0 ? delta / baseline : null,
  };
}
