import { SegflowError } from '../../errors.js';
import { hyp2f1, lnBeta, lnGamma } from '../../shared/special-functions.js';
import { minimizeBfgs, minimizeNelderMead, minimizeNewton } from './optimize.js';
import { standardErrorsFromHessian } from './standard-errors.js';
import { checkRfm, type PurchaseHistory, type RfmSummaries } from './summaries-types.js';
import { type Duration, inUnit, type TimeUnit } from './time-unit.js';

/**
 * The BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way: An Alternative to the
 * Pareto/NBD Model", Marketing Science 24(2), 275–284). While alive a person buys as a Poisson process with rate
 * λ ~ Gamma(r, α); after each purchase they drop out with probability p ~ Beta(a, b).
 *
 * Units: r, a and b have none; α is a time in the model's `timeUnit` (the Gamma's scale is 1/α, so λ is purchases per
 * unit). All of t, t_x and T are in that unit too.
 */
export interface BgNbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

export interface BgNbdModel {
  params: BgNbdParams;
  timeUnit: TimeUnit;
}

export interface BgNbdFit extends BgNbdModel {
  /** ln L at the estimates (eq. 6 of the paper), in the data's time unit. */
  logLikelihood: number;
  /** Asymptotic standard errors from the inverse of the observed information; null where it is not invertible. */
  standardErrors: BgNbdParams | null;
  people: number;
  groups: number;
  iterations: number;
  converged: boolean;
}

const PARAM_NAMES = ['r', 'alpha', 'a', 'b'] as const;

function toParams(v: ArrayLike<number>): BgNbdParams {
  return { r: v[0]!, alpha: v[1]!, a: v[2]!, b: v[3]! };
}

/** Groups per call of groupTerms: see there. */
const GROUP_BLOCK = 512;

/**
 * The share of groups [from, to) in ln L and its gradient, added to the running sums in `acc` (ln L, then ∂/∂r, ∂/∂α,
 * ∂/∂a, ∂/∂b) in group order, exactly as one loop over all groups adds them. Per group: ln[(α+T)^−(r+x) + δ(x>0)
 * a/(b+x−1) (α+t_x)^−(r+x)], by log-sum-exp.
 *
 * Why a function of its own, called per block of groups: a process fits once, so this loop runs cold, first in the
 * interpreter, where every arithmetic result is a heap allocation (most of a fit's time, and most of its garbage).
 * A small function called again and again is compiled by V8's optimizing compiler after a few blocks, and in a few
 * milliseconds; inside the whole likelihood the same loop waited for the compilation of all of it (about three times
 * as long) and went on interpreted meanwhile: the cold BG/NBD fit of the full CDNOW log took about a third less time.
 */
function groupTerms(
  x: Float64Array,
  weight: Float64Array,
  tIndex: Int32Array,
  txIndex: Int32Array,
  lnTime: Float64Array,
  invTime: Float64Array,
  lnBx: Float64Array,
  r: number,
  a: number,
  b: number,
  lnA: number,
  from: number,
  to: number,
  acc: Float64Array,
): void {
  let ll = acc[0]!;
  let dr = acc[1]!;
  let dAlpha = acc[2]!;
  let da = acc[3]!;
  let db = acc[4]!;
  for (let i = from; i < to; i++) {
    const xi = x[i]!;
    const w = weight[i]!;
    const rx = r + xi;
    const iT = tIndex[i]!;
    const lnAT = lnTime[iT]!;
    const a3 = -rx * lnAT;
    if (xi === 0) {
      ll += w * a3;
      dr -= w * lnAT;
      dAlpha -= w * rx * invTime[iT]!;
      continue;
    }
    const iTx = txIndex[i]!;
    const lnAtx = lnTime[iTx]!;
    const a4 = lnA - lnBx[xi]! - rx * lnAtx;
    // As in groupTermsWithHessian.
    const a4Larger = a4 > a3;
    const larger = a4Larger ? a4 : a3;
    const e = Math.exp((a4Larger ? a3 : a4) - larger);
    ll += w * (larger + Math.log1p(e));
    const share = (a4Larger ? 1 : e) / (1 + e);
    const stay = 1 - share;
    dr -= w * (stay * lnAT + share * lnAtx);
    dAlpha -= w * rx * (stay * invTime[iT]! + share * invTime[iTx]!);
    da += (w * share) / a;
    db -= (w * share) / (b + xi - 1);
  }
  acc[0] = ll;
  acc[1] = dr;
  acc[2] = dAlpha;
  acc[3] = da;
  acc[4] = db;
}

/**
 * groupTerms with the second derivatives: `acc` continues with the Hessian's rr, rα, αα, aa, ab, bb, ra, rb, αa, αb
 * (natural parameters). With π the second term's share, ∇L = (1−π)∇A₃ + π∇A₄ and
 * ∇²L = (1−π)∇²A₃ + π∇²A₄ + π(1−π)(∇A₄−∇A₃)(∇A₄−∇A₃)ᵀ.
 */
function groupTermsWithHessian(
  x: Float64Array,
  weight: Float64Array,
  tIndex: Int32Array,
  txIndex: Int32Array,
  lnTime: Float64Array,
  invTime: Float64Array,
  lnBx: Float64Array,
  r: number,
  a: number,
  b: number,
  lnA: number,
  from: number,
  to: number,
  acc: Float64Array,
): void {
  let ll = acc[0]!;
  let dr = acc[1]!;
  let dAlpha = acc[2]!;
  let da = acc[3]!;
  let db = acc[4]!;
  let hrr = acc[5]!;
  let hra = acc[6]!;
  let haa = acc[7]!;
  let hAA = acc[8]!;
  let hAB = acc[9]!;
  let hBB = acc[10]!;
  let hRA = acc[11]!;
  let hRB = acc[12]!;
  let hAlphaA = acc[13]!;
  let hAlphaB = acc[14]!;
  for (let i = from; i < to; i++) {
    const xi = x[i]!;
    const w = weight[i]!;
    const rx = r + xi;
    const iT = tIndex[i]!;
    const lnAT = lnTime[iT]!;
    const a3 = -rx * lnAT;
    if (xi === 0) {
      ll += w * a3;
      dr -= w * lnAT;
      dAlpha -= w * rx * invTime[iT]!;
      hra -= w * invTime[iT]!;
      haa += w * rx * invTime[iT]! * invTime[iT]!;
      continue;
    }
    const iTx = txIndex[i]!;
    const lnAtx = lnTime[iTx]!;
    const a4 = lnA - lnBx[xi]! - rx * lnAtx;
    // ln(e^a3 + e^a4) = larger + ln(1 + e^(smaller − larger)); share = weight of the "dropped out after the last
    // purchase" term in the sum. The two orders only select operands: the optimizing compiler has then seen every
    // arithmetic operation in the loop (one first met later, in a branch, threw the compiled code away).
    const a4Larger = a4 > a3;
    const larger = a4Larger ? a4 : a3;
    const e = Math.exp((a4Larger ? a3 : a4) - larger);
    ll += w * (larger + Math.log1p(e));
    const share = (a4Larger ? 1 : e) / (1 + e);
    const stay = 1 - share;
    dr -= w * (stay * lnAT + share * lnAtx);
    dAlpha -= w * rx * (stay * invTime[iT]! + share * invTime[iTx]!);
    da += (w * share) / a;
    db -= (w * share) / (b + xi - 1);
    const iT1 = invTime[iT]!;
    const iT2 = invTime[iTx]!;
    const ibx = 1 / (b + xi - 1);
    const v = w * share * stay;
    // Δ = ∇A₄ − ∇A₃ = (lnAT − lnAtx, rx(1/(α+T) − 1/(α+t_x)), 1/a, −1/(b+x−1))
    const d0 = lnAT - lnAtx;
    const d1 = rx * (iT1 - iT2);
    const d2 = 1 / a;
    const d3 = -ibx;
    hrr += v * d0 * d0;
    hra += -w * (stay * iT1 + share * iT2) + v * d0 * d1;
    haa += w * rx * (stay * iT1 * iT1 + share * iT2 * iT2) + v * d1 * d1;
    hAA += -w * share * d2 * d2 + v * d2 * d2;
    hAB += v * d2 * d3;
    hBB += w * share * ibx * ibx + v * d3 * d3;
    hRA += v * d0 * d2;
    hRB += v * d0 * d3;
    hAlphaA += v * d1 * d2;
    hAlphaB += v * d1 * d3;
  }
  acc[0] = ll;
  acc[1] = dr;
  acc[2] = dAlpha;
  acc[3] = da;
  acc[4] = db;
  acc[5] = hrr;
  acc[6] = hra;
  acc[7] = haa;
  acc[8] = hAA;
  acc[9] = hAB;
  acc[10] = hBB;
  acc[11] = hRA;
  acc[12] = hRB;
  acc[13] = hAlphaA;
  acc[14] = hAlphaB;
}

/**
 * The log-likelihood and its gradient, prepared once per data set. Everything that depends on x alone is summed
 * over the distinct x values: because x is whole, ln Γ(r+x) − ln Γ(r) = Σ_{k<x} ln(r+k) and likewise for the Beta
 * terms, so no special function is evaluated at all. Logarithms of α + time are computed once per distinct time
 * (t_x and T values repeat a lot: with whole days there are at most a few hundred), so each group costs one exp and
 * one log1p.
 */
class BgNbdLikelihood {
  readonly people: number;
  /** The longest T. */
  readonly maxT: number;
  /** Times are multiplied by this during evaluation (the fit searches on rescaled time, then reports unscaled). */
  timeScale = 1;
  private readonly tail: Float64Array; // tail[k] = weight of people with x > k
  private readonly times: Float64Array; // distinct values of t_x and T
  private readonly tIndex: Int32Array; // per group: index of T in times
  private readonly txIndex: Int32Array; // per group: index of t_x in times
  private readonly lnTime: Float64Array;
  private readonly invTime: Float64Array;
  private readonly lnBx: Float64Array;
  /** The sums groupTerms carries from one block of groups to the next. */
  private readonly acc = new Float64Array(15);
  constructor(private readonly d: RfmSummaries) {
    const { x, tx, T, weight } = d;
    const n = x.length;
    // Two passes over the groups, each doing all it can (every such loop runs cold, see groupTerms): the people, the
    // largest x and the longest T; then the weight at each x and the index of each group's times.
    let people = 0;
    let maxX = 0;
    let maxT = 0;
    for (let i = 0; i < n; i++) {
      people += weight[i]!;
      if (x[i]! > maxX) maxX = x[i]!;
      if (T[i]! > maxT) maxT = T[i]!;
    }
    this.people = people;
    this.maxT = maxT;
    const atX = new Float64Array(maxX + 1);
    // Distinct times, indexed as first met. Rows come sorted by (x, t_x), so t_x mostly repeats the previous row's
    // and is not looked up again.
    const index = new Map<number, number>();
    const times: number[] = [];
    const tIndex = new Int32Array(n);
    const txIndex = new Int32Array(n);
    let lastTx = Number.NaN;
    let lastTxIndex = -1;
    for (let i = 0; i < n; i++) {
      const xi = x[i]!;
      atX[xi] = atX[xi]! + weight[i]!;
      const t = T[i]!;
      let j = index.get(t);
      if (j === undefined) {
        j = times.length;
        index.set(t, j);
        times.push(t);
      }
      tIndex[i] = j;
      const u = tx[i]!;
      if (u !== lastTx) {
        let k = index.get(u);
        if (k === undefined) {
          k = times.length;
          index.set(u, k);
          times.push(u);
        }
        lastTx = u;
        lastTxIndex = k;
      }
      txIndex[i] = lastTxIndex;
    }
    this.tail = new Float64Array(maxX);
    let above = 0;
    for (let k = maxX - 1; k >= 0; k--) {
      above += atX[k + 1]!;
      this.tail[k] = above;
    }
    this.tIndex = tIndex;
    this.txIndex = txIndex;
    this.times = Float64Array.from(times);
    this.lnTime = new Float64Array(this.times.length);
    this.invTime = new Float64Array(this.times.length);
    this.lnBx = new Float64Array(maxX + 1);
  }

  /**
   * ln L at (r, α, a, b); with `gradient`, also ∂ ln L / ∂(r, α, a, b); with `hessian` (4 × 4, row-major) also the
   * second derivatives. Per group the sum of two terms is handled as log-sum-exp: with π the second term's share,
   * ∇L = (1−π)∇A₃ + π∇A₄ and ∇²L = (1−π)∇²A₃ + π∇²A₄ + π(1−π)(∇A₄−∇A₃)(∇A₄−∇A₃)ᵀ.
   */
  evaluate(p: BgNbdParams, gradient?: Float64Array, hessian?: Float64Array): number {
    const { r, alpha, a, b } = p;
    if (!(r > 0 && alpha > 0 && a > 0 && b > 0)) return Number.NaN;
    const { x, weight } = this.d;
    const { tIndex, txIndex, lnTime, invTime, lnBx, times } = this;
    const lnA = Math.log(a);
    // Terms in x only: Σ_x W_x [ln Γ(r+x) − ln Γ(r) + ln B(a, b+x) − ln B(a, b)].
    let ll = this.people * r * Math.log(alpha);
    let dr = this.people * Math.log(alpha);
    let dAlpha = (this.people * r) / alpha;
    let da = 0;
    let db = 0;
    // Hessian entries (natural parameters): rr, rα, αα, aa, ab, bb (the others are 0).
    let hrr = 0;
    let hra = this.people / alpha;
    let haa = (-this.people * r) / (alpha * alpha);
    let hAA = 0;
    let hAB = 0;
    let hBB = 0;
    const tail = this.tail;
    for (let k = 0; k < tail.length; k++) {
      const c = tail[k]!;
      ll += c * (Math.log(r + k) + Math.log(b + k) - Math.log(a + b + k));
      const ir = 1 / (r + k);
      const ib = 1 / (b + k);
      const iab = 1 / (a + b + k);
      dr += c * ir;
      da -= c * iab;
      db += c * (ib - iab);
      if (hessian) {
        hrr -= c * ir * ir;
        hAA += c * iab * iab;
        hAB += c * iab * iab;
        hBB += c * (iab * iab - ib * ib);
      }
    }
    for (let u = 0; u < times.length; u++) {
      const at = alpha + this.timeScale * times[u]!;
      lnTime[u] = Math.log(at);
      invTime[u] = 1 / at;
    }
    for (let k = 1; k < lnBx.length; k++) lnBx[k] = Math.log(b + k - 1);
    // Per group: ln[(α+T)^−(r+x) + δ(x>0) a/(b+x−1) (α+t_x)^−(r+x)], by log-sum-exp, in blocks (see groupTerms).
    const acc = this.acc;
    acc[0] = ll;
    acc[1] = dr;
    acc[2] = dAlpha;
    acc[3] = da;
    acc[4] = db;
    acc[5] = hrr;
    acc[6] = hra;
    acc[7] = haa;
    acc[8] = hAA;
    acc[9] = hAB;
    acc[10] = hBB;
    acc.fill(0, 11); // hRA, hRB, hAlphaA, hAlphaB
    const terms = hessian ? groupTermsWithHessian : groupTerms;
    for (let from = 0; from < x.length; from += GROUP_BLOCK) {
      terms(
        x,
        weight,
        tIndex,
        txIndex,
        lnTime,
        invTime,
        lnBx,
        r,
        a,
        b,
        lnA,
        from,
        Math.min(x.length, from + GROUP_BLOCK),
        acc,
      );
    }
    ll = acc[0]!;
    dr = acc[1]!;
    dAlpha = acc[2]!;
    da = acc[3]!;
    db = acc[4]!;
    hrr = acc[5]!;
    hra = acc[6]!;
    haa = acc[7]!;
    hAA = acc[8]!;
    hAB = acc[9]!;
    hBB = acc[10]!;
    const hRA = acc[11]!; // r, a
    const hRB = acc[12]!; // r, b
    const hAlphaA = acc[13]!;
    const hAlphaB = acc[14]!;
    if (hessian) {
      // order r, α, a, b
      hessian.set([
        hrr,
        hra,
        hRA,
        hRB,
        hra,
        haa,
        hAlphaA,
        hAlphaB,
        hRA,
        hAlphaA,
        hAA,
        hAB,
        hRB,
        hAlphaB,
        hAB,
        hBB,
      ]);
    }
    if (gradient) {
      gradient[0] = dr;
      gradient[1] = dAlpha;
      gradient[2] = da;
      gradient[3] = db;
    }
    return ll;
  }
}

/** ln L of BG/NBD for grouped summaries (Fader, Hardie & Lee 2005, eq. 6, summed with weights). */
export function bgnbdLogLikelihood(data: RfmSummaries, params: BgNbdParams): number {
  checkRfm(data);
  return new BgNbdLikelihood(data).evaluate(params);
}

export interface FitOptions {
  /** Where the search starts (in the data's time unit); by default r = α = a = b = 1 after scaling time. */
  initial?: BgNbdParams;
}

/**
 * Maximum-likelihood estimates of BG/NBD. The search runs on log-parameters (so they stay positive) with BFGS and the
 * analytic gradient, on times rescaled so the longest T is 10 (the start r = α = a = b = 1 is then of the right order
 * whatever the unit); Nelder-Mead takes over if BFGS stalls. The mean log-likelihood per person is optimised, so the
 * convergence tolerance does not depend on how many people there are.
 */
export function fitBgNbd(data: RfmSummaries, options: FitOptions = {}): BgNbdFit {
  checkRfm(data);
  const lik = new BgNbdLikelihood(data);
  const factor = lik.maxT > 0 ? 10 / lik.maxT : 1;
  lik.timeScale = factor;
  const n = lik.people;
  const grad = new Float64Array(4);
  const hess = new Float64Array(16);
  // In log-parameters φ = ln θ: ∂f/∂φ = θ·∂f/∂θ and ∂²f/∂φᵢ∂φⱼ = θᵢθⱼ ∂²f/∂θᵢ∂θⱼ + δᵢⱼ θᵢ ∂f/∂θᵢ.
  const objective = (theta: Float64Array, g: Float64Array, h?: Float64Array): number => {
    const v = theta.map(Math.exp);
    const ll = lik.evaluate(toParams(v), grad, h ? hess : undefined);
    for (let i = 0; i < 4; i++) {
      g[i] = (-grad[i]! * v[i]!) / n;
      if (h) {
        for (let j = 0; j < 4; j++) h[i * 4 + j] = (-hess[i * 4 + j]! * v[i]! * v[j]!) / n;
        h[i * 4 + i] = h[i * 4 + i]! + g[i]!;
      }
    }
    return -ll / n;
  };
  const init = options.initial;
  const start = init
    ? [Math.log(init.r), Math.log(init.alpha * factor), Math.log(init.a), Math.log(init.b)]
    : [0, 0, 0, 0];
  let result = minimizeNewton(objective, start);
  let iterations = result.iterations;
  if (!result.converged || !Number.isFinite(result.value)) {
    // Newton stalled (a flat or ill-conditioned region): Nelder-Mead to get near, BFGS to finish.
    const g = new Float64Array(4);
    const nm = minimizeNelderMead((t) => objective(t, g), Number.isFinite(result.value) ? result.x : start);
    result = minimizeBfgs(objective, nm.x);
    iterations += nm.iterations + result.iterations;
  }
  if (!Number.isFinite(result.value)) {
    throw new SegflowError(
      'MODEL_FIT_FAILED',
      'the BG/NBD likelihood could not be maximised (no finite value found)',
      'check the summaries: very few people, or everyone with the same history, leaves the model unidentified',
    );
  }
  const est = result.x.map(Math.exp);
  est[1] = est[1]! / factor;
  const params = toParams(est);
  const full = lik;
  full.timeScale = 1;
  const fullHessian = new Float64Array(16);
  const logLikelihood = full.evaluate(params, grad, fullHessian);
  const se = standardErrorsFromHessian(fullHessian, 4);
  return {
    params,
    timeUnit: data.timeUnit,
    logLikelihood,
    standardErrors: se ? toParams(se) : null,
    people: n,
    groups: data.x.length,
    iterations,
    converged: result.converged,
  };
}

export const BGNBD_PARAM_NAMES = PARAM_NAMES;

/**
 * P(alive | x, t_x, T): the probability that a person with this history has not dropped out (Fader, Hardie & Lee
 * 2005, eq. 11, with the δ(x>0) correction of Fader, Hardie & Lee 2008, "Computing P(alive) Using the BG/NBD Model").
 */
export function bgnbdProbabilityAlive(model: BgNbdModel, h: PurchaseHistory): number {
  if (h.x === 0) return 1;
  const { r, alpha, a, b } = model.params;
  const lnOdds = Math.log(a / (b + h.x - 1)) + (r + h.x) * Math.log((alpha + h.T) / (alpha + h.tx));
  return 1 / (1 + Math.exp(lnOdds));
}

/**
 * (a+b+x−1)/(a−1) · [1 − (1−z)^{a−1} ₂F₁(a+b−1−r, a−1; a+b+x−1; z)] with z = t/(α+T+t): the bracket of eq. 10 after
 * Euler's transformation ₂F₁(A, B; C; z) = (1−z)^{C−A−B} ₂F₁(C−A, C−B; C; z). The transformed series has small
 * numerator parameters whatever x is, so it neither overflows for heavy buyers (the "#NUM!" problem of Fader &
 * Hardie's 2013 note) nor needs more terms as x grows.
 */
function expectedIfAlive(p: BgNbdParams, x: number, T: number, t: number): number {
  const { r, alpha, a, b } = p;
  const z = t / (alpha + T + t);
  const f = hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z);
  const bracket = -Math.expm1((a - 1) * Math.log1p(-z) + Math.log(f));
  return ((a + b + x - 1) / (a - 1)) * bracket;
}

/**
 * E[X(t)]: expected repeat purchases in (0, t] for a person who has just made a first purchase (eq. 9).
 */
export function bgnbdExpectedPurchasesFromStart(model: BgNbdModel, horizon: Duration): number {
  const t = inUnit(horizon, model.timeUnit);
  if (t === 0) return 0;
  return expectedIfAlive(model.params, 0, 0, t);
}

/**
 * E[Y(t) | x, t_x, T]: expected purchases in the next `horizon` after the end of the history (eq. 10), i.e. the
 * expectation for a person still alive, times P(alive).
 */
export function bgnbdExpectedPurchases(model: BgNbdModel, h: PurchaseHistory, horizon: Duration): number {
  const t = inUnit(horizon, model.timeUnit);
  if (t === 0) return 0;
  return expectedIfAlive(model.params, h.x, h.T, t) * bgnbdProbabilityAlive(model, h);
}

/**
 * P(X(t) = n): the probability of exactly n repeat purchases in (0, t] for a person who has just made a first
 * purchase (Fader, Hardie & Lee 2005, eq. 8, derived in their technical appendix; the same route as Fader & Hardie's
 * note "Deriving an Expression for P(X(t) = x) Under the Pareto/NBD Model" takes for the Pareto/NBD).
 *
 *   P(X(t)=n) = B(a, b+n)/B(a, b) · NB(n) + δ(n>0) · B(a+1, b+n−1)/B(a, b) · P(N ≥ n)
 *
 * where NB is the negative binomial NB(r, α/(α+t)) of purchases while alive and P(N ≥ n) its upper tail.
 */
export function bgnbdProbabilityOfPurchases(model: BgNbdModel, n: number, horizon: Duration): number {
  if (!Number.isInteger(n) || n < 0) {
    throw new SegflowError('USAGE', `n must be a whole number ≥ 0 (got ${n})`, 'n counts repeat purchases');
  }
  const t = inUnit(horizon, model.timeUnit);
  const { r, alpha, a, b } = model.params;
  if (t === 0) return n === 0 ? 1 : 0;
  const lnStay = Math.log(alpha / (alpha + t)); // ln of the NB's "failure" share
  const lnBuy = Math.log(t / (alpha + t));
  const lnNb = (j: number) => lnGamma(r + j) - lnGamma(r) - lnGamma(j + 1) + r * lnStay + j * lnBuy;
  const lnB0 = lnBeta(a, b);
  const alive = Math.exp(lnBeta(a, b + n) - lnB0 + lnNb(n));
  if (n === 0) return alive;
  // P(N ≥ n): 1 − Σ_{j<n} NB(j) while that is accurate, else the tail summed directly (no cancellation).
  let head = 0;
  for (let j = 0; j < n; j++) head += Math.exp(lnNb(j));
  let upper: number;
  if (head < 0.5) {
    upper = 1 - head;
  } else {
    upper = 0;
    for (let j = n; j < n + 1_000_000; j++) {
      const term = Math.exp(lnNb(j));
      upper += term;
      if (term <= 1e-17 * upper && j > n + (r * t) / alpha) break;
    }
  }
  return alive + Math.exp(lnBeta(a + 1, b + n - 1) - lnB0) * upper;
}

/**
 * P(N ≥ n) of the negative binomial NB(r, α/(α+t)), summed from ln NB(n) = `lnStart` upwards until the terms are
 * negligible. A function of its own: the fit's diagnostics call it for each distinct T, hundreds of terms each, and
 * a small function is compiled by the optimizing compiler sooner than the loop inside bgnbdPurchaseDistribution was.
 */
function nbTail(lnStart: number, n: number, r: number, t: number, alpha: number, lnBuy: number): number {
  let ln = lnStart;
  let tail = 0;
  for (let j = n; j < n + 1_000_000; j++) {
    const term = Math.exp(ln);
    tail += term;
    if (term <= 1e-17 * tail && j > n + (r * t) / alpha) break;
    ln += Math.log((r + j) / (j + 1)) + lnBuy;
  }
  return tail;
}

/**
 * P(X(t) = n) for n = 0 … count − 1 at once: the same as `bgnbdProbabilityOfPurchases` for each n, with every term
 * built from the one before instead of from ln Γ — ln NB(j+1) = ln NB(j) + ln(r+j) − ln(j+1) + ln(t/(α+t)), and the
 * Beta ratios B(a, b+n)/B(a, b) likewise — so a whole table costs a few logarithms per n. The fit's diagnostics take
 * this table once per distinct T. P(N ≥ n) is 1 − Σ_{j<n} NB(j) while that sum is below ½ (no cancellation) and
 * beyond, the tail summed from the top down.
 *
 * @example
 * bgnbdPurchaseDistribution(model, { value: 39, unit: 'weeks' }, 8); // Float64Array [P(X=0), …, P(X=7)]
 */
export function bgnbdPurchaseDistribution(model: BgNbdModel, horizon: Duration, count: number): Float64Array {
  const out = new Float64Array(count);
  const t = inUnit(horizon, model.timeUnit);
  if (count === 0) return out;
  if (t === 0) {
    out[0] = 1;
    return out;
  }
  const { r, alpha, a, b } = model.params;
  const lnBuy = Math.log(t / (alpha + t));
  // ln NB(j) for j < count, and the first n whose head Σ_{j<n} NB(j) reaches ½.
  const lnNb = new Float64Array(count);
  lnNb[0] = r * Math.log(alpha / (alpha + t));
  for (let j = 1; j < count; j++) lnNb[j] = lnNb[j - 1]! + Math.log((r + j - 1) / j) + lnBuy;
  const upper = new Float64Array(count); // P(N ≥ n)
  let head = 0;
  let fromTail = count;
  for (let n = 0; n < count; n++) {
    if (head >= 0.5) {
      fromTail = n;
      break;
    }
    upper[n] = 1 - head;
    head += Math.exp(lnNb[n]!);
  }
  if (fromTail < count) {
    // The tail from count − 1 upwards, as bgnbdProbabilityOfPurchases sums it, then down to fromTail by adding.
    const last = count - 1;
    upper[last] = nbTail(lnNb[last]!, last, r, t, alpha, lnBuy);
    for (let n = last - 1; n >= fromTail; n--) upper[n] = upper[n + 1]! + Math.exp(lnNb[n]!);
  }
  // ln B(a, b+n)/B(a, b), advanced by ln((b+n)/(a+b+n)); the dropout term's B(a+1, b+n−1)/B(a, b) is the ratio
  // of n − 1 times a/(a+b+n−1).
  let lnRatio = 0;
  let lnPrevious = 0;
  for (let n = 0; n < count; n++) {
    out[n] = Math.exp(lnRatio + lnNb[n]!);
    if (n > 0) out[n] = out[n]! + Math.exp(lnPrevious + Math.log(a / (a + b + n - 1))) * upper[n]!;
    lnPrevious = lnRatio;
    lnRatio += Math.log((b + n) / (a + b + n));
  }
  return out;
}
