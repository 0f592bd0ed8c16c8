import { SegflowError } from '../../errors.js';
import { digamma, lnGamma } from '../../shared/special-functions.js';
import { minimizeBfgs, minimizeNelderMead } from './optimize.js';
import { standardErrors } from './standard-errors.js';
import { checkMonetary, type MonetarySummaries, totalWeight } from './summaries-types.js';

/**
 * The Gamma-Gamma model of monetary value (Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value",
 * brucehardie.com/notes/025; after Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value Curves", JMR 42(4)).
 * A person's order values are Gamma(p, ν) around their own mean p/ν; ν ~ Gamma(q, γ) across people. It assumes order
 * value is independent of purchase frequency.
 *
 * Units: p and q have none; γ is in money (the currency of the revenue), so E[Z] = pγ/(q−1) is a money amount per
 * order. There is no time in this model.
 */
export interface GammaGammaParams {
  p: number;
  q: number;
  gamma: number;
}

export interface GammaGammaFit {
  params: GammaGammaParams;
  /** ln L of the observed mean order values (the note's eq. 1a summed over people). */
  logLikelihood: number;
  standardErrors: GammaGammaParams | null;
  people: number;
  groups: number;
  iterations: number;
  converged: boolean;
}

function toParams(v: ArrayLike<number>): GammaGammaParams {
  return { p: v[0]!, q: v[1]!, gamma: v[2]! };
}

class GammaGammaLikelihood {
  readonly people: number;
  private readonly lnM: Float64Array;
  private readonly lnX: Float64Array;
  constructor(private readonly d: MonetarySummaries) {
    this.people = totalWeight(d.weight);
    this.lnM = d.m.map(Math.log);
    this.lnX = d.x.map(Math.log);
  }

  /**
   * ln f(m | p, q, γ, x) = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m + px ln x − (px+q) ln(γ + mx),
   * summed with weights; with `gradient`, also ∂/∂(p, q, γ).
   */
  evaluate(params: GammaGammaParams, gradient?: Float64Array): number {
    const { p, q, gamma } = params;
    if (!(p > 0 && q > 0 && gamma > 0)) return Number.NaN;
    const { x, m, weight } = this.d;
    const lnGammaParam = Math.log(gamma);
    let ll = this.people * (q * lnGammaParam - lnGamma(q));
    let dp = 0;
    let dq = this.people * (lnGammaParam - digamma(q));
    let dGamma = (this.people * q) / gamma;
    for (let i = 0; i < x.length; i++) {
      const w = weight[i]!;
      const px = p * x[i]!;
      const lnDen = Math.log(gamma + m[i]! * x[i]!);
      ll +=
        w * (lnGamma(px + q) - lnGamma(px) + (px - 1) * this.lnM[i]! + px * this.lnX[i]! - (px + q) * lnDen);
      if (gradient) {
        const psiSum = digamma(px + q);
        dp += w * x[i]! * (psiSum - digamma(px) + this.lnM[i]! + this.lnX[i]! - lnDen);
        dq += w * (psiSum - lnDen);
        dGamma -= (w * (px + q)) / (gamma + m[i]! * x[i]!);
      }
    }
    if (gradient) {
      gradient[0] = dp;
      gradient[1] = dq;
      gradient[2] = dGamma;
    }
    return ll;
  }
}

export function gammaGammaLogLikelihood(data: MonetarySummaries, params: GammaGammaParams): number {
  checkMonetary(data);
  return new GammaGammaLikelihood(data).evaluate(params);
}

/**
 * Maximum-likelihood estimates of Gamma-Gamma on repeat customers (x ≥ 1, m > 0), by BFGS on log-parameters with the
 * analytic gradient. Money is rescaled so the mean m is 1 during the search (γ scales with the currency; p and q do
 * not), so the start p = q = γ = 1 is of the right order for any currency.
 */
export function fitGammaGamma(data: MonetarySummaries): GammaGammaFit {
  checkMonetary(data);
  let sum = 0;
  const people = totalWeight(data.weight);
  for (let i = 0; i < data.m.length; i++) sum += data.m[i]! * data.weight[i]!;
  const factor = people / sum;
  const lik = new GammaGammaLikelihood({ ...data, m: data.m.map((v) => v * factor) });
  const grad = new Float64Array(3);
  const objective = (theta: Float64Array, g: Float64Array): number => {
    const p = toParams(theta.map(Math.exp));
    const ll = lik.evaluate(p, grad);
    g[0] = (-grad[0]! * p.p) / people;
    g[1] = (-grad[1]! * p.q) / people;
    g[2] = (-grad[2]! * p.gamma) / people;
    return -ll / people;
  };
  const start = [0, 0, 0];
  let result = minimizeBfgs(objective, start);
  let iterations = result.iterations;
  if (!result.converged || !Number.isFinite(result.value)) {
    const g = new Float64Array(3);
    const nm = minimizeNelderMead((t) => objective(t, g), Number.isFinite(result.value) ? result.x : start);
    result = minimizeBfgs(objective, nm.x);
    iterations += nm.iterations + result.iterations;
  }
  if (!Number.isFinite(result.value)) {
    throw new SegflowError(
      'MODEL_FIT_FAILED',
      'the Gamma-Gamma likelihood could not be maximised (no finite value found)',
      'check the order values: Gamma-Gamma needs repeat customers with positive, varied order values',
    );
  }
  const est = result.x.map(Math.exp);
  est[2] = est[2]! / factor;
  const params = toParams(est);
  const full = new GammaGammaLikelihood(data);
  const se = standardErrors((v, g) => full.evaluate(toParams(v), g), est);
  return {
    params,
    logLikelihood: full.evaluate(params),
    standardErrors: se ? toParams(se) : null,
    people,
    groups: data.x.length,
    iterations,
    converged: result.converged,
  };
}

/** E[Z]: the population's mean order value pγ/(q−1); infinite when q ≤ 1 (the mean does not exist). */
export function gammaGammaPopulationMean(params: GammaGammaParams): number {
  return params.q > 1 ? (params.p * params.gamma) / (params.q - 1) : Number.POSITIVE_INFINITY;
}

/**
 * E[Z | x, m]: a person's expected order value given x repeat purchases with mean value m (the note's eq. 5) — a
 * weighted mean of the population mean and the person's own mean, the weight on their own growing with x. For x = 0 it
 * is the population mean.
 */
export function gammaGammaExpectedOrderValue(params: GammaGammaParams, x: number, m: number): number {
  const { p, q } = params;
  if (q <= 1) {
    throw new SegflowError(
      'MODEL_FIT_FAILED',
      `Gamma-Gamma's q is ${q} ≤ 1, so expected order values do not exist`,
      'the order values are too heavy-tailed for the model; check for outliers or non-purchase revenue',
    );
  }
  if (x === 0) return gammaGammaPopulationMean(params);
  const own = (p * x) / (p * x + q - 1);
  return (1 - own) * gammaGammaPopulationMean(params) + own * m;
}
