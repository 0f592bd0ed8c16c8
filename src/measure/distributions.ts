import { lnGamma } from '../shared/special-functions.js';

/**
 * The probability distributions the Measure statistics need: the standard normal, Student's t and chi-square, each
 * with its CDF, upper tail and quantile.
 *
 * Hand-written rather than taken from a package because nothing small and well kept fits (the usual candidate, jStat,
 * is unmaintained and ships far more than this), and because these few functions can be checked exactly against
 * closed forms and published tables (test/measure/distributions.test.ts).
 *
 * Algorithms (all double precision, relative accuracy about 1e-14 in the ranges the statistics use):
 * - log Γ: `lnGamma` from src/shared/special-functions.ts (Lanczos, shared with the customer-base models).
 * - regularised incomplete gamma P(a, x), Q(a, x): the power series below x < a + 1, else Legendre's continued
 *   fraction evaluated by the modified Lentz method (Numerical Recipes, 3rd ed., §6.2).
 * - regularised incomplete beta I_x(a, b): the continued fraction of Numerical Recipes §6.4 by modified Lentz, on
 *   whichever of x or 1 − x converges fast (both passed in, so 1 − x is never formed by subtraction).
 * - normal: Φ(z) = ½·erfc(−z/√2) with erfc(x) = Q(½, x²); Φ⁻¹ starts from Acklam's rational approximation and takes
 *   two Halley steps on the exact Φ.
 * - Student t: upper tail ½·I_{ν/(ν+t²)}(ν/2, ½), and beyond a million degrees of freedom its asymptotic expansion
 *   in 1/ν (see LARGE_DF); chi-square: P(k/2, x/2). Their quantiles start from the
 *   Cornish–Fisher expansion (Abramowitz & Stegun 26.7.5) and the Wilson–Hilferty approximation respectively, then
 *   a safeguarded Newton iteration (Numerical Recipes §9.4, rtsafe) on the tail probability.
 */

const EPS = 1e-15;
const TINY = 1e-300;
const MAX_ITERATIONS = 100_000;
const LN_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * ln Γ(a + b) − ln Γ(a). For large a the two logarithms are huge and nearly equal, so their difference is taken
 * from Stirling's series written without cancellation: (a − ½)·log1p(b/a) + b·ln(a + b) − b + the difference of the
 * series' correction terms.
 */
function logGammaRatio(a: number, b: number): number {
  if (a < 20) return lnGamma(a + b) - lnGamma(a);
  const correction = (x: number) => {
    const x2 = x * x;
    return (1 / 12 - (1 / 360 - (1 / 1260 - 1 / (1680 * x2)) / x2) / x2) / x;
  };
  return (a - 0.5) * Math.log1p(b / a) + b * Math.log(a + b) - b + correction(a + b) - correction(a);
}

/** Regularised lower incomplete gamma P(a, x) and its complement Q(a, x) = 1 − P, each computed directly. */
function incompleteGamma(a: number, x: number): { lower: number; upper: number } {
  if (x <= 0) return { lower: 0, upper: 1 };
  const logPrefix = a * Math.log(x) - x - lnGamma(a);
  if (x < a + 1) {
    // Series: P = e^{−x} x^a / Γ(a+1) · Σ x^n / ((a+1)…(a+n)).
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < MAX_ITERATIONS; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPS) break;
    }
    const lower = Math.min(1, sum * Math.exp(logPrefix));
    return { lower, upper: 1 - lower };
  }
  // Continued fraction for Q by modified Lentz.
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  const upper = Math.min(1, Math.exp(logPrefix) * h);
  return { lower: 1 - upper, upper };
}

/** The continued fraction of I_x(a, b) (Numerical Recipes betacf), fast when x < (a + 1) / (a + b + 2). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < MAX_ITERATIONS; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return h;
}

/**
 * Regularised incomplete beta I_x(a, b), given x and y = 1 − x separately (so callers that know y exactly, like
 * the t distribution with t²/(ν + t²), keep its precision).
 */
export function regularizedBeta(a: number, b: number, x: number, y = 1 - x): number {
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  // ln of x^a y^b / B(a, b); logarithms of numbers near 1 via log1p of their exactly known complements.
  const logX = y < 0.5 ? Math.log1p(-y) : Math.log(x);
  const logY = x < 0.5 ? Math.log1p(-x) : Math.log(y);
  const logInvBeta = a >= b ? logGammaRatio(a, b) - lnGamma(b) : logGammaRatio(b, a) - lnGamma(a);
  const logFront = logInvBeta + a * logX + b * logY;
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(logFront) * betaContinuedFraction(a, b, x)) / a;
  return 1 - (Math.exp(logFront) * betaContinuedFraction(b, a, y)) / b;
}

// ---------------------------------------------------------------------------------------------------------------
// Standard normal

/** Φ(z), the standard normal CDF. */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  const x = z / Math.SQRT2;
  // erfc(|x|) = Q(½, x²); Φ(z) = ½ erfc(−x).
  const tail = 0.5 * incompleteGamma(0.5, x * x).upper;
  return z < 0 ? tail : 1 - tail;
}

/** 1 − Φ(z), computed without cancellation for large z. */
export function normalSurvival(z: number): number {
  return normalCdf(-z);
}

export function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z - LN_SQRT_2PI);
}

// Acklam's coefficients (rational approximation of Φ⁻¹, relative error below 1.2e-9 before refinement).
const ACKLAM_A = [
  -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
  2.506628277459239,
];
const ACKLAM_B = [
  -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1,
];
const ACKLAM_C = [
  -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const ACKLAM_D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];

function polynomial(coefficients: readonly number[], x: number): number {
  let result = 0;
  for (const c of coefficients) result = result * x + c;
  return result;
}

/** Φ⁻¹(p) for 0 < p < 1 (−∞ at 0, +∞ at 1). */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) return Number.NaN;
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  const pLow = 0.02425;
  let x: number;
  if (p < pLow) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = polynomial(ACKLAM_C, q) / (polynomial(ACKLAM_D, q) * q + 1);
  } else if (p <= 1 - pLow) {
    const q = p - 0.5;
    const r = q * q;
    x = (polynomial(ACKLAM_A, r) * q) / (polynomial(ACKLAM_B, r) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -polynomial(ACKLAM_C, q) / (polynomial(ACKLAM_D, q) * q + 1);
  }
  // Halley refinement against the exact Φ, on the smaller tail for accuracy.
  for (let i = 0; i < 2; i++) {
    const e = x < 0 ? normalCdf(x) - p : 1 - p - normalSurvival(x);
    const u = e / normalPdf(x);
    x -= u / (1 + (x * u) / 2);
  }
  return x;
}

// ---------------------------------------------------------------------------------------------------------------
// Safeguarded Newton on a decreasing tail function

/**
 * The root of tail(x) = target for a continuous decreasing function on [lo, ∞) whose derivative is −density(x)
 * (an upper tail, or a negated CDF), starting at `guess`: brackets the root, then Newton steps that fall back to
 * bisection whenever they leave the bracket (Numerical Recipes rtsafe).
 */
function solveTail(
  tail: (x: number) => number,
  density: (x: number) => number,
  target: number,
  lo: number,
  guess: number,
): number {
  let a = lo;
  let b = Math.max(guess, lo + 1);
  while (tail(b) > target) {
    a = b;
    b *= 2;
    if (!Number.isFinite(b)) return Number.POSITIVE_INFINITY;
  }
  let x = Math.min(Math.max(guess, a), b);
  for (let i = 0; i < 200; i++) {
    const f = tail(x) - target; // decreasing in x
    if (f > 0) a = x;
    else b = x;
    const slope = density(x);
    let next = slope > 0 ? x + f / slope : Number.NaN;
    if (!(next > a && next < b)) next = 0.5 * (a + b);
    if (Math.abs(next - x) <= 1e-14 * Math.max(1, Math.abs(next))) return next;
    x = next;
  }
  return x;
}

// ---------------------------------------------------------------------------------------------------------------
// Student's t

function checkDf(df: number): void {
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be positive (got ${df})`);
}

/**
 * Beyond this many degrees of freedom the continued fraction needs O(√ν) steps and gathers rounding, while the
 * asymptotic expansion of the t distribution in powers of 1/ν (Fisher 1925; Johnson, Kotz & Balakrishnan,
 * Continuous Univariate Distributions vol. 2, §28.7), kept to the 1/ν² term, is exact to double precision:
 * F_ν(t) = Φ(t) − φ(t)·[(t³ + t)/(4ν) + (3t⁷ − 7t⁵ − 5t³ − 3t)/(96ν²)] + O(ν⁻³).
 */
const LARGE_DF = 1e6;

/** P(T > t) for t ≥ 0. */
function studentUpperTail(t: number, df: number): number {
  if (df >= LARGE_DF) {
    const t2 = t * t;
    const first = (t2 + 1) * t * 0.25;
    const second = (((3 * t2 - 7) * t2 - 5) * t2 - 3) * t * (1 / 96);
    return normalSurvival(t) + normalPdf(t) * (first / df + second / (df * df));
  }
  const t2 = t * t;
  // ½·I_x(ν/2, ½) with x = ν/(ν+t²) and 1 − x = t²/(ν+t²) formed directly.
  return 0.5 * regularizedBeta(df / 2, 0.5, df / (df + t2), t2 / (df + t2));
}

/** The CDF of Student's t with `df` degrees of freedom (df may be fractional, as Welch's is). */
export function studentTCdf(t: number, df: number): number {
  checkDf(df);
  if (Number.isNaN(t)) return Number.NaN;
  if (!Number.isFinite(t)) return t > 0 ? 1 : 0;
  const tail = studentUpperTail(Math.abs(t), df);
  return t < 0 ? tail : 1 - tail;
}

/** P(T > t). */
export function studentTSurvival(t: number, df: number): number {
  return studentTCdf(-t, df);
}

export function studentTPdf(t: number, df: number): number {
  checkDf(df);
  if (df >= LARGE_DF) {
    // The derivative of the expansion above, so Newton steps agree with the tail they differentiate.
    const t2 = t * t;
    const first = ((t2 - 2) * t2 - 1) * 0.25;
    const second = ((((3 * t2 - 28) * t2 + 30) * t2 + 12) * t2 + 3) * (1 / 96);
    return normalPdf(t) * (1 + first / df + second / (df * df));
  }
  const logC = lnGamma((df + 1) / 2) - lnGamma(df / 2) - 0.5 * Math.log(df * Math.PI);
  return Math.exp(logC - ((df + 1) / 2) * Math.log1p((t * t) / df));
}

/** The p-quantile of Student's t. */
export function studentTQuantile(p: number, df: number): number {
  checkDf(df);
  if (!(p >= 0 && p <= 1)) return Number.NaN;
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  if (p === 0.5) return 0;
  const upper = p > 0.5;
  const q = upper ? 1 - p : p; // the tail area beyond the quantile
  const z = -normalQuantile(q); // > 0
  // Cornish–Fisher expansion of t in powers of 1/ν (A&S 26.7.5): a good start for ν ≥ 3, harmless below.
  const z2 = z * z;
  const g1 = (z2 + 1) * z * 0.25;
  const g2 = ((5 * z2 + 16) * z2 + 3) * z * (1 / 96);
  const g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z * (1 / 384);
  const g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z * (1 / 92160);
  const guess = z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4;
  const t = solveTail(
    (x) => studentUpperTail(x, df),
    (x) => studentTPdf(x, df),
    q,
    0,
    Number.isFinite(guess) && guess > 0 ? guess : z,
  );
  return upper ? t : -t;
}

// ---------------------------------------------------------------------------------------------------------------
// Chi-square

/** P(X ≤ x) for X ~ χ²(df). */
export function chiSquareCdf(x: number, df: number): number {
  checkDf(df);
  if (Number.isNaN(x)) return Number.NaN;
  return incompleteGamma(df / 2, Math.max(0, x) / 2).lower;
}

/** P(X > x), computed directly (not as 1 − CDF) so small p-values keep their digits. */
export function chiSquareSurvival(x: number, df: number): number {
  checkDf(df);
  if (Number.isNaN(x)) return Number.NaN;
  return incompleteGamma(df / 2, Math.max(0, x) / 2).upper;
}

export function chiSquarePdf(x: number, df: number): number {
  checkDf(df);
  if (x < 0) return 0;
  if (x === 0) return df === 2 ? 0.5 : df < 2 ? Number.POSITIVE_INFINITY : 0;
  const k = df / 2;
  return Math.exp((k - 1) * Math.log(x) - x / 2 - k * Math.LN2 - lnGamma(k));
}

/** The p-quantile of χ²(df). */
export function chiSquareQuantile(p: number, df: number): number {
  checkDf(df);
  if (!(p >= 0 && p <= 1)) return Number.NaN;
  if (p === 0) return 0;
  if (p === 1) return Number.POSITIVE_INFINITY;
  // Wilson–Hilferty: (X/k)^{1/3} is nearly normal with mean 1 − 2/(9k) and variance 2/(9k).
  const z = normalQuantile(p);
  const v = 2 / (9 * df);
  const guess = df * Math.max(1 - v + z * Math.sqrt(v), 0.01) ** 3;
  const density = (x: number) => chiSquarePdf(x, df);
  // Solve on whichever tail is smaller, so neither p nor 1 − p is formed where it would lose digits.
  return p < 0.5
    ? solveTail((x) => -chiSquareCdf(x, df), density, -p, 0, guess)
    : solveTail((x) => chiSquareSurvival(x, df), density, 1 - p, 0, guess);
}
