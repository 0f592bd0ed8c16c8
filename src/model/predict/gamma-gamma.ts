import { SegflowError } from '../../errors.js';
import { digamma, lnGamma } from '../../shared/special-functions.js';
import { minimizeBfgs, minimizeNelderMead } from './optimize.js';
import { standardErrors } from './standard-errors.js';
import { checkMonetary, type MonetarySummaries } from './summaries-types.js';

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

/** Groups per call of groupTerms: see there. */
const GROUP_BLOCK = 1024;

/**
 * The share of groups [from, to) in ln L and its gradient, −(px+q) ln(γ + mx) per group, added to the running sums in
 * `acc` (ln L, ∂/∂p, ∂/∂q, ∂/∂γ) in group order, exactly as one loop over all groups adds them. A function of its own,
 * called per block of groups, for the reason bgnbd.ts's groupTerms gives: the optimizing compiler takes it up within
 * a few blocks of a process's first (and only) fit.
 */
function groupTerms(
  x: Float64Array,
  m: Float64Array,
  weight: Float64Array,
  p: number,
  q: number,
  gamma: number,
  from: number,
  to: number,
  acc: Float64Array,
): void {
  let ll = acc[0]!;
  let dp = acc[1]!;
  let dq = acc[2]!;
  let dGamma = acc[3]!;
  for (let i = from; i < to; i++) {
    const w = weight[i]!;
    const xi = x[i]!;
    const den = gamma + m[i]! * xi;
    const lnDen = Math.log(den);
    const pxq = p * xi + q;
    ll -= w * pxq * lnDen;
    dp -= w * xi * lnDen;
    dq -= w * lnDen;
    dGamma -= (w * pxq) / den;
  }
  acc[0] = ll;
  acc[1] = dp;
  acc[2] = dq;
  acc[3] = dGamma;
}

/**
 * The log-likelihood and its gradient, prepared once per data set. Groups are distinct (x, m) and m is continuous, so
 * there are about as many groups as repeat customers; but the special functions (ln Γ and ψ of px and px + q) depend
 * on x alone, which is whole and takes few values. They are evaluated once per distinct x and their terms summed
 * with the weight of that x, so a group costs one logarithm per evaluation.
 */
class GammaGammaLikelihood {
  readonly people: number;
  /** The distinct x values, each x's total weight, and the per-group index into them. */
  private readonly xs: Float64Array;
  private readonly weightAtX: Float64Array;
  /** Σ over groups of w·x·ln m: the part of ∂/∂p that does not change with the parameters. */
  private readonly wxLnM: number;
  /** Σ over groups of w·ln m (the −ln m of (px − 1) ln m). */
  private readonly wLnM: number;
  /** The sums groupTerms carries from one block of groups to the next. */
  private readonly acc = new Float64Array(4);
  constructor(private readonly d: MonetarySummaries) {
    const { x, m, weight } = d;
    const n = x.length;
    // x → its index in xs, in the order met. Rows come sorted by x, so x mostly repeats the previous row's and is not
    // looked up again (one pass over the groups: it runs cold, see groupTerms).
    const index = new Map<number, number>();
    const xs: number[] = [];
    const weightAtX: number[] = [];
    let people = 0;
    let wxLnM = 0;
    let wLnM = 0;
    let lastX = Number.NaN;
    let lastIndex = -1;
    for (let i = 0; i < n; i++) {
      const w = weight[i]!;
      const xi = x[i]!;
      const l = Math.log(m[i]!);
      people += w;
      if (xi !== lastX) {
        let k = index.get(xi);
        if (k === undefined) {
          k = xs.length;
          index.set(xi, k);
          xs.push(xi);
          weightAtX.push(0);
        }
        lastX = xi;
        lastIndex = k;
      }
      weightAtX[lastIndex] = weightAtX[lastIndex]! + w;
      wxLnM += w * xi * l;
      wLnM += w * l;
    }
    this.people = people;
    this.xs = Float64Array.from(xs);
    this.weightAtX = Float64Array.from(weightAtX);
    this.wxLnM = wxLnM;
    this.wLnM = wLnM;
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
    // The terms in x alone: ln Γ(px+q) − ln Γ(px) + px ln x, and their derivatives, once per distinct x.
    let ll = this.people * (q * lnGammaParam - lnGamma(q)) + p * this.wxLnM - this.wLnM;
    let dp = this.wxLnM;
    let dq = this.people * (lnGammaParam - digamma(q));
    let dGamma = (this.people * q) / gamma;
    const { xs, weightAtX } = this;
    for (let k = 0; k < xs.length; k++) {
      const W = weightAtX[k]!;
      const xk = xs[k]!;
      const px = p * xk;
      const lnX = Math.log(xk);
      ll += W * (lnGamma(px + q) - lnGamma(px) + px * lnX);
      if (gradient) {
        const psiSum = digamma(px + q);
        dp += W * xk * (psiSum - digamma(px) + lnX);
        dq += W * psiSum;
      }
    }
    // Per group: −(px+q) ln(γ + mx), in blocks (see groupTerms).
    const acc = this.acc;
    acc[0] = ll;
    acc[1] = dp;
    acc[2] = dq;
    acc[3] = dGamma;
    for (let from = 0; from < x.length; from += GROUP_BLOCK) {
      groupTerms(x, m, weight, p, q, gamma, from, Math.min(x.length, from + GROUP_BLOCK), acc);
    }
    ll = acc[0]!;
    dp = acc[1]!;
    dq = acc[2]!;
    dGamma = acc[3]!;
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
  const n = data.x.length;
  let people = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    people += data.weight[i]!;
    sum += data.m[i]! * data.weight[i]!;
  }
  const factor = people / sum;
  const scaled = new Float64Array(n);
  for (let i = 0; i < n; i++) scaled[i] = data.m[i]! * factor;
  // Both likelihoods' data are objects of one shape, so that the compiled evaluate serves both.
  const lik = new GammaGammaLikelihood({ x: data.x, m: scaled, weight: data.weight });
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
  const full = new GammaGammaLikelihood({ x: data.x, m: data.m, weight: data.weight });
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
